//! The startup check that every place serving `SetHandler tofu` can serve, and which
//! `<Location>`s set that handler (their paths are the URL prefixes).
//!
//! httpd parses the configuration into a tree of directives; the adapter copies it into
//! [`Node`]s. [`check`] builds, for every `SetHandler tofu`, the config a request there gets,
//! the way httpd merges sections for a URL (server level, then virtual host, then every
//! `<Location>` whose path covers it, in file order), by replaying the `Tofu*` directives through
//! the same parsers httpd called. A location that would answer every request with an error —
//! no storage or no key, a preset its own limits refuse — fails the start (and `apachectl -t`)
//! with its file and line, instead of failing at request time.

use std::path::{Path, PathBuf};

use crate::config::{secret_file_group_readable, DirConfig, Setter, DIRECTIVES};

/// One directive of the parsed configuration (a section when it has children).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// As written, e.g. `TofuStorage` or `<Location`.
    pub name: String,
    /// The rest of the line (for a section, including its closing `>`).
    pub args: String,
    pub file: String,
    pub line: u32,
    pub children: Vec<Node>,
}

impl Node {
    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    fn sets_handler_tofu(&self) -> bool {
        self.is("SetHandler")
            && self
                .args
                .trim()
                .trim_matches('"')
                .eq_ignore_ascii_case("tofu")
    }

    /// The section's argument without the closing `>` and quotes.
    fn section_arg(&self) -> &str {
        self.args
            .trim()
            .trim_end_matches('>')
            .trim()
            .trim_matches('"')
    }

    fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// What the startup check found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// `file:line: message` for every place that sets `SetHandler tofu` but cannot serve: the
    /// start fails.
    pub problems: Vec<String>,
    /// Worth the operator's attention, not fatal (a key file its group may read).
    pub warnings: Vec<String>,
}

/// The paths of the `<Location>` sections (main server and virtual hosts) that set
/// `SetHandler tofu`: each is the URL prefix of the requests it serves.
pub fn handler_locations(top: &[Node]) -> Vec<String> {
    let mut paths = Vec::new();
    let mut visit = |level: &[Node]| {
        for node in level.iter().filter(|n| n.is("<Location")) {
            if node.children.iter().any(Node::sets_handler_tofu) {
                paths.push(node.section_arg().trim_end_matches('/').to_string());
            }
        }
    };
    visit(top);
    for vhost in top.iter().filter(|n| n.is("<VirtualHost")) {
        visit(&vhost.children);
    }
    paths
}

/// True when `prefix` covers `path` segment-wise (`/img` covers `/img/a`, not `/imgs`).
fn covers(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Checks every place that sets `SetHandler tofu`; relative file names resolve against
/// `server_root` as httpd resolved them.
pub fn check(top: &[Node], server_root: &Path) -> Report {
    let mut report = Report::default();
    let replay = Replay { server_root };
    let main = replay.level(DirConfig::new(), top);
    let main_locations: Vec<&Node> = top.iter().filter(|n| n.is("<Location")).collect();
    check_server(&replay, top, &main, &[], &mut report);
    for vhost in top.iter().filter(|n| n.is("<VirtualHost")) {
        let server = replay.level(main.clone(), &vhost.children);
        check_server(
            &replay,
            &vhost.children,
            &server,
            &main_locations,
            &mut report,
        );
    }
    secret_file_warnings(top, server_root, &mut report.warnings);
    report
}

/// Checks one server (the main one or a virtual host): its own level and its sections.
/// `outer_locations` are the main server's `<Location>`s, which a virtual host's requests also
/// match, before its own (empty for the main server itself).
fn check_server(
    replay: &Replay<'_>,
    level: &[Node],
    server: &DirConfig,
    outer_locations: &[&Node],
    report: &mut Report,
) {
    let mut locations: Vec<&Node> = outer_locations.to_vec();
    locations.extend(level.iter().filter(|n| n.is("<Location")));
    for node in level {
        if node.sets_handler_tofu() {
            report_config(node, server, &mut report.problems);
        }
        if node.is("<Location") {
            let path = node.section_arg();
            if let Some(set) = node.children.iter().find(|c| c.sets_handler_tofu()) {
                let merged = locations
                    .iter()
                    .filter(|l| covers(l.section_arg(), path))
                    .fold(server.clone(), |acc, l| replay.level(acc, &l.children));
                report_config(set, &merged, &mut report.problems);
            }
        } else if !node.is("<VirtualHost") && !node.children.is_empty() {
            if let Some(set) = find_handler(&node.children) {
                report.problems.push(format!(
                    "{}: SetHandler tofu must be set in a <Location> (its path is the URL \
                     prefix) or at server level, not in {}>",
                    set.at(),
                    node.name
                ));
            }
        }
    }
}

fn find_handler(nodes: &[Node]) -> Option<&Node> {
    nodes.iter().find_map(|n| {
        if n.sets_handler_tofu() {
            Some(n)
        } else {
            find_handler(&n.children)
        }
    })
}

fn report_config(set: &Node, config: &DirConfig, problems: &mut Vec<String>) {
    if let Err(e) = config.check_servable() {
        problems.push(format!("{}: {e}", set.at()));
    } else if let Err(e) = config.check_presets() {
        problems.push(format!("{}: SetHandler tofu: {e}", set.at()));
    }
}

/// Replays the `Tofu*` directives of a level into a config, through the parsers httpd called.
struct Replay<'a> {
    server_root: &'a Path,
}

impl Replay<'_> {
    /// `parent` merged with a section made of `nodes`' directives (sub-sections are not
    /// entered: they are merged where they apply).
    fn level(&self, parent: DirConfig, nodes: &[Node]) -> DirConfig {
        let mut section = DirConfig::new();
        for node in nodes.iter().filter(|n| n.children.is_empty()) {
            self.apply(&mut section, node);
        }
        DirConfig::merge(&parent, &section)
    }

    /// Errors are ignored: httpd already refused the configuration for them, with file:line.
    fn apply(&self, config: &mut DirConfig, node: &Node) {
        let Some(directive) = DIRECTIVES
            .iter()
            .find(|d| d.name.to_str().is_ok_and(|n| node.is(n)))
        else {
            return;
        };
        let words = words(&node.args);
        let _ = match (directive.set, words.as_slice()) {
            (Setter::One(f), [a]) => f(config, a),
            (Setter::Two(f), [a, b]) => f(config, a, b),
            (Setter::Flag(f), [a]) => f(config, a.eq_ignore_ascii_case("on")),
            (Setter::Path(f), [a]) => f(config, &self.resolve(a)),
            (Setter::Raw(f), _) => f(config, &node.args),
            _ => Ok(()),
        };
    }

    fn resolve(&self, name: &str) -> PathBuf {
        self.server_root.join(name)
    }
}

/// A directive's arguments as httpd splits them (`ap_getword_conf`): on white space, with
/// double or single quotes around words that contain it, and a backslash escaping the quote.
pub(crate) fn words(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = args.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return out;
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.next_if_eq(&first).is_some() => word.push(first),
                    c if c == first => break,
                    c => word.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        out.push(word);
    }
}

/// A warning for every `TofuSecretFile` its group may read (world-readable ones were refused).
fn secret_file_warnings(nodes: &[Node], server_root: &Path, warnings: &mut Vec<String>) {
    for node in nodes {
        if node.is("TofuSecretFile") {
            if let Some(name) = words(&node.args).first() {
                let path = server_root.join(name);
                if secret_file_group_readable(&path) {
                    warnings.push(format!(
                        "{}: TofuSecretFile {} is readable by its group: keep HMAC keys \
                         readable by root alone (chmod 600)",
                        node.at(),
                        path.display()
                    ));
                }
            }
        }
        secret_file_warnings(&node.children, server_root, warnings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::SECRET;

    /// The nodes httpd's parser makes of `text` (file `t.conf`, lines counted from 1); the key
    /// `KEY` stands for a valid secret.
    fn conf(text: &str) -> Vec<Node> {
        fn level<'a>(lines: &mut impl Iterator<Item = (u32, &'a str)>) -> Vec<Node> {
            let mut out = Vec::new();
            while let Some((line, text)) = lines.next() {
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                if text.starts_with("</") {
                    break;
                }
                let (name, args) = text.split_once(' ').unwrap_or((text, ""));
                let children = if name.starts_with('<') {
                    level(lines)
                } else {
                    Vec::new()
                };
                out.push(Node {
                    name: name.to_string(),
                    args: args.replace("KEY", SECRET),
                    file: "t.conf".to_string(),
                    line,
                    children,
                });
            }
            out
        }
        level(&mut (1..).zip(text.lines()))
    }

    fn unservable(text: &str) -> Vec<String> {
        check(&conf(text), Path::new("/")).problems
    }

    #[test]
    fn a_complete_location_is_servable() {
        let text = "<Location /img>\n SetHandler tofu\n TofuStorage file:///\n TofuSecret KEY\n</Location>";
        assert_eq!(unservable(text), Vec::<String>::new());
    }

    #[test]
    fn inherits_from_server_level_and_covering_locations() {
        let covered = "TofuSecret KEY\n<Location /img>\n TofuStorage file:///\n</Location>\n\
                       <Location \"/img/thumbs\">\n SetHandler tofu\n</Location>";
        assert_eq!(unservable(covered), Vec::<String>::new());
        let beside = "TofuSecret KEY\n<Location /imgs>\n TofuStorage file:///\n</Location>\n\
                      <Location /img>\n SetHandler tofu\n</Location>";
        let problems = unservable(beside);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("t.conf:6: SetHandler tofu needs TofuStorage"));
    }

    #[test]
    fn reports_missing_key_and_storage_with_file_and_line() {
        let problems = unservable(
            "<VirtualHost *:80>\n<Location /img>\n SetHandler TOFU\n</Location>\n</VirtualHost>",
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("t.conf:3"));
        assert!(problems[0].contains("TofuStorage and TofuSecret"));
    }

    #[test]
    fn a_virtual_host_inherits_server_level_directives() {
        let text = "TofuSecret KEY\nTofuStorage file:///\n<VirtualHost *:80>\n<Location /img>\n\
                    SetHandler tofu\n</Location>\n</VirtualHost>";
        assert_eq!(unservable(text), Vec::<String>::new());
    }

    #[test]
    fn refuses_sections_without_a_url_prefix() {
        let problems = unservable(
            "TofuSecret KEY\nTofuStorage file:///\n<Directory /var/www>\n SetHandler tofu\n\
             </Directory>\n<LocationMatch ^/i>\n SetHandler tofu\n</LocationMatch>",
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("t.conf:4") && problems[0].contains("<Directory>"));
    }

    #[test]
    fn other_handlers_are_not_our_business() {
        assert_eq!(
            unservable("<Location /x>\n SetHandler server-status\n</Location>"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_preset_its_location_cannot_serve_fails_the_start() {
        let problems = unservable(
            "TofuSecret KEY\nTofuStorage file:///\nTofuPreset hero 2000x\n<Location /img>\n\
             SetHandler tofu\n TofuMaxOutputDimension 1000\n</Location>\n<Location /big>\n\
             SetHandler tofu\n</Location>",
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("t.conf:5:") && problems[0].contains("hero"),
            "{problems:?}"
        );
    }

    #[test]
    fn handler_locations_are_the_url_prefixes() {
        let top = conf(
            "<Location /pics>\n TofuDefaultQuality 70\n</Location>\n\
             <Location \"/pics/thumbs/\">\n SetHandler tofu\n</Location>\n\
             <VirtualHost *:80>\n<Location /v>\n SetHandler tofu\n</Location>\n</VirtualHost>",
        );
        assert_eq!(handler_locations(&top), vec!["/pics/thumbs", "/v"]);
    }

    #[test]
    fn arguments_split_as_httpd_splits_them() {
        assert_eq!(words("a  b"), vec!["a", "b"]);
        assert_eq!(
            words(r#""public, max-age=60" 'x y' "say \"hi\"""#),
            vec!["public, max-age=60", "x y", "say \"hi\""]
        );
        assert!(words("   ").is_empty());
    }

    #[test]
    fn a_group_readable_key_file_is_a_warning() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("tofu-tree-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let keys = dir.join("keys");
        std::fs::write(&keys, "a-key-long-enough-for-hmac\n").unwrap();
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o640)).unwrap();
        let top = conf(
            "<Location /img>\n SetHandler tofu\n TofuStorage file:///\n TofuSecretFile keys\n</Location>",
        );
        let report = check(&top, &dir);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.warnings.len(), 1);
        assert!(
            report.warnings[0].starts_with("t.conf:4:"),
            "{:?}",
            report.warnings
        );
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(check(&top, &dir).warnings.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
