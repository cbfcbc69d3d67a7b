//! `TofuPreset NAME OPS`, `TofuPresetsOnly`: named ops, signed like any ops, and a switch that
//! serves nothing else (which caps what anyone holding a leaked key can order).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::limits::MAX_OUTPUT_DIMENSION_LIMIT;
use super::{DirConfig, Directive};

/// `TofuPresetsOnly On|Off`.
pub(super) const TOFU_PRESETS_ONLY: Directive = Directive::flag(
    c"TofuPresetsOnly",
    c"On: serve only preset names, never free-form ops (default Off)",
    |c, on| {
        c.presets_only = Some(on);
        Ok(())
    },
);

/// `TofuPreset NAME OPS`.
pub(super) const TOFU_PRESET: Directive = Directive::two(
    c"TofuPreset",
    c"TofuPreset NAME OPS: a name usable in place of ops in URLs (still signed)",
    set_preset,
);

fn set_preset(c: &mut DirConfig, name: &str, ops: &str) -> Result<(), String> {
    if !crate::url::is_preset_name(name) {
        return Err(format!(
            "preset name {name:?} must be lowercase letters, digits and _ and must not look like ops"
        ));
    }
    crate::url::parse_ops(ops, MAX_OUTPUT_DIMENSION_LIMIT)
        .map_err(|e| format!("preset {name}: ops {ops:?}: {e}"))?;
    let mut presets = c.presets.as_deref().cloned().unwrap_or_default();
    if presets.insert(name.to_string(), ops.to_string()).is_some() {
        return Err(format!("preset {name} is defined twice in this section"));
    }
    c.presets = Some(Arc::new(presets));
    Ok(())
}

/// Presets merge by name, child over parent: a location adds to the server's presets. The
/// common case (only one level defines presets) is a pointer copy.
pub(super) fn merge_presets(
    parent: &Option<Arc<BTreeMap<String, String>>>,
    child: &Option<Arc<BTreeMap<String, String>>>,
) -> Option<Arc<BTreeMap<String, String>>> {
    match (parent, child) {
        (Some(p), Some(c)) => {
            let mut all = (**p).clone();
            all.extend(c.iter().map(|(k, v)| (k.clone(), v.clone())));
            Some(Arc::new(all))
        }
        (p, c) => c.as_ref().or(p.as_ref()).cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::set;
    use super::*;

    #[test]
    fn presets_resolve_merge_and_restrict() {
        let mut server = DirConfig::default();
        set(&mut server, "TofuPreset", "thumb 280x210c-q80").unwrap();
        assert!(
            set(&mut server, "TofuPreset", "thumb 100x").is_err(),
            "defined twice"
        );
        assert!(
            set(&mut server, "TofuPreset", "x100 100x").is_err(),
            "looks like ops"
        );
        assert!(
            set(&mut server, "TofuPreset", "big 100x-q0").is_err(),
            "bad ops"
        );
        let mut location = DirConfig::new();
        set(&mut location, "TofuPreset", "hero 1600x").unwrap();
        let merged = DirConfig::merge(&server, &location);
        let thumb = merged.resolve_ops("thumb").unwrap();
        assert_eq!(thumb.quality, Some(80));
        assert_eq!(merged.resolve_ops("hero").unwrap().size.width, Some(1600));
        assert_eq!(merged.resolve_ops("100x").unwrap().size.width, Some(100));
        assert_eq!(merged.resolve_ops("nope").unwrap_err().status(), 404);
        set(&mut location, "TofuPresetsOnly", "On").unwrap();
        let only = DirConfig::merge(&server, &location);
        assert_eq!(only.resolve_ops("100x").unwrap_err().status(), 404);
        assert!(only.resolve_ops("thumb").is_ok());
    }
}
