//! The startup check that every place serving `SetHandler tofu` can serve.
//!
//! httpd parses the configuration into a tree of directives; the adapter copies it into
//! [`Node`]s and [`unservable`] walks it the way httpd merges sections for a URL (server level,
//! then virtual host, then every `<Location>` whose path is a prefix). A location that would
//! answer every request with 500 — no storage or no key — fails the start (and `apachectl -t`)
//! with its file and line, instead of failing at request time.

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
}

/// What a set of directives provides towards being servable.
#[derive(Debug, Clone, Copy, Default)]
struct Provides {
    storage: bool,
    key: bool,
}

impl Provides {
    fn of(nodes: &[Node]) -> Provides {
        Provides {
            storage: nodes.iter().any(|n| n.is("TofuStorage")),
            key: nodes
                .iter()
                .any(|n| n.is("TofuSecret") || n.is("TofuSecretFile")),
        }
    }

    fn or(self, other: Provides) -> Provides {
        Provides {
            storage: self.storage || other.storage,
            key: self.key || other.key,
        }
    }
}

/// True when `prefix` covers `path` segment-wise (`/img` covers `/img/a`, not `/imgs`).
fn covers(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// `file:line: message` for every place that sets `SetHandler tofu` but cannot serve.
pub fn unservable(top: &[Node]) -> Vec<String> {
    let mut problems = Vec::new();
    let main_locations: Vec<&Node> = top.iter().filter(|n| n.is("<Location")).collect();
    check_server(top, Provides::default(), &[], &mut problems);
    for vhost in top.iter().filter(|n| n.is("<VirtualHost")) {
        check_server(
            &vhost.children,
            Provides::of(top),
            &main_locations,
            &mut problems,
        );
    }
    problems
}

/// Checks one server (the main one or a virtual host): its own level and its sections.
/// `outer_locations` are the main server's `<Location>`s, which a virtual host's requests also
/// match (empty for the main server itself).
fn check_server(
    level: &[Node],
    inherited: Provides,
    outer_locations: &[&Node],
    problems: &mut Vec<String>,
) {
    let server = inherited.or(Provides::of(level));
    let mut locations: Vec<&Node> = level.iter().filter(|n| n.is("<Location")).collect();
    locations.extend(outer_locations.iter().copied());
    for node in level {
        if node.sets_handler_tofu() {
            report(node, server, problems);
        }
        if node.is("<Location") {
            let path = node.section_arg();
            if let Some(set) = node.children.iter().find(|c| c.sets_handler_tofu()) {
                let provided = locations
                    .iter()
                    .filter(|l| covers(l.section_arg(), path))
                    .fold(server, |acc, l| acc.or(Provides::of(&l.children)));
                report(set, provided, problems);
            }
        } else if !node.is("<VirtualHost") && !node.children.is_empty() {
            if let Some(set) = find_handler(&node.children) {
                problems.push(format!(
                    "{}:{}: SetHandler tofu must be set in a <Location> (its path is the URL \
                     prefix) or at server level, not in {}>",
                    set.file, set.line, node.name
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

fn report(set: &Node, provided: Provides, problems: &mut Vec<String>) {
    let mut missing = Vec::new();
    if !provided.storage {
        missing.push("TofuStorage");
    }
    if !provided.key {
        missing.push("TofuSecret or TofuSecretFile");
    }
    if !missing.is_empty() {
        problems.push(format!(
            "{}:{}: SetHandler tofu needs {} (nothing is served unsigned or from nowhere)",
            set.file,
            set.line,
            missing.join(" and ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(name: &str, args: &str, line: u32) -> Node {
        Node {
            name: name.into(),
            args: args.into(),
            file: "t.conf".into(),
            line,
            children: vec![],
        }
    }

    fn section(name: &str, args: &str, line: u32, children: Vec<Node>) -> Node {
        Node {
            children,
            ..d(name, args, line)
        }
    }

    #[test]
    fn a_complete_location_is_servable() {
        let top = vec![section(
            "<Location",
            "/img>",
            1,
            vec![
                d("SetHandler", "tofu", 2),
                d("TofuStorage", "file:///srv", 3),
                d("TofuSecret", "k", 4),
            ],
        )];
        assert!(unservable(&top).is_empty());
    }

    #[test]
    fn inherits_from_server_level_and_covering_locations() {
        let top = vec![
            d("TofuSecret", "k", 1),
            section(
                "<Location",
                "/img>",
                2,
                vec![d("TofuStorage", "file:///", 3)],
            ),
            section(
                "<Location",
                "\"/img/thumbs\">",
                5,
                vec![d("SetHandler", "tofu", 6)],
            ),
        ];
        assert!(unservable(&top).is_empty(), "{:?}", unservable(&top));
        let top = vec![
            d("TofuSecret", "k", 1),
            section(
                "<Location",
                "/imgs>",
                2,
                vec![d("TofuStorage", "file:///", 3)],
            ),
            section("<Location", "/img>", 5, vec![d("SetHandler", "tofu", 6)]),
        ];
        let problems = unservable(&top);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("t.conf:6: SetHandler tofu needs TofuStorage"));
    }

    #[test]
    fn reports_missing_key_and_storage_with_file_and_line() {
        let top = vec![section(
            "<VirtualHost",
            "*:80>",
            1,
            vec![section(
                "<Location",
                "/img>",
                2,
                vec![d("SetHandler", "TOFU", 3)],
            )],
        )];
        let problems = unservable(&top);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("t.conf:3"));
        assert!(problems[0].contains("TofuStorage and TofuSecret"));
    }

    #[test]
    fn a_virtual_host_inherits_server_level_directives() {
        let top = vec![
            d("TofuSecret", "k", 1),
            d("TofuStorage", "file:///", 2),
            section(
                "<VirtualHost",
                "*:80>",
                3,
                vec![section(
                    "<Location",
                    "/img>",
                    4,
                    vec![d("SetHandler", "tofu", 5)],
                )],
            ),
        ];
        assert!(unservable(&top).is_empty());
    }

    #[test]
    fn refuses_sections_without_a_url_prefix() {
        let top = vec![
            d("TofuSecret", "k", 1),
            d("TofuStorage", "file:///", 2),
            section(
                "<Directory",
                "/var/www>",
                3,
                vec![d("SetHandler", "tofu", 4)],
            ),
            section(
                "<LocationMatch",
                "^/i>",
                5,
                vec![d("SetHandler", "tofu", 6)],
            ),
        ];
        let problems = unservable(&top);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("t.conf:4") && problems[0].contains("<Directory>"));
    }

    #[test]
    fn other_handlers_are_not_our_business() {
        let top = vec![section(
            "<Location",
            "/x>",
            1,
            vec![d("SetHandler", "server-status", 2)],
        )];
        assert!(unservable(&top).is_empty());
    }
}
