//! The alert rules' settings as the server reads them: TOML (`yiping rules` prints the
//! defaults, `yiping serve --rules FILE` replaces them). The types, the defaults and the checks
//! live in [`yiping_protocol::rules`], shared with the app.

pub use yiping_protocol::rules::*;

/// Parse and check a TOML text; errors say where (line, column) and what.
pub fn from_toml(text: &str) -> Result<Rules, String> {
    let rules: Rules = toml::from_str(text).map_err(|e| e.to_string())?;
    rules.check()?;
    Ok(rules)
}

/// Rules as TOML.
pub fn to_toml(rules: &Rules) -> String {
    toml::to_string(rules).expect("the rules serialise as TOML")
}

#[cfg(test)]
mod tests {
    use super::*;
    use yiping_protocol::alerts::Severity;
    use yiping_protocol::water::WaterClass;

    #[test]
    fn the_defaults_round_trip_through_toml_and_pass_their_own_checks() {
        let d = Rules::default();
        let text = to_toml(&d);
        assert_eq!(from_toml(&text).expect("defaults parse"), d);
        assert_eq!(from_toml("").expect("empty is the defaults"), d);
    }

    #[test]
    fn a_partial_file_overrides_only_what_it_names() {
        let r = from_toml(
            "[silent]\nlevels = [{ at = 30, severity = \"orange\" }]\n\n[targets]\nriver = \"II\"\nlake = \"IV\"\n",
        )
        .expect("parses");
        assert_eq!(r.silent.severity(29.0), None);
        assert_eq!(r.silent.severity(31.0), Some(Severity::Orange));
        assert_eq!(r.targets.river, WaterClass::II);
        assert_eq!(r.water_class, Rules::default().water_class);
        // Within a table too: the waits not named keep theirs.
        let r = from_toml("[escalation]\nyellow_minutes = 1\n").expect("parses");
        assert_eq!(r.escalation.minutes(Severity::Yellow), Some(1));
        assert_eq!(r.escalation.minutes(Severity::Blue), Rules::default().escalation.minutes(Severity::Blue));
    }

    #[test]
    fn bad_settings_say_where_and_what() {
        let e = from_toml("[silent]\nlevls = []\n").expect_err("unknown field");
        assert!(e.contains("line 2") && e.contains("levls"), "{e}");
        let e = from_toml(
            "[spike]\nlevels = [{ at = 4, severity = \"red\" }, { at = 2, severity = \"orange\" }]\n",
        )
        .expect_err("descending");
        assert!(e.contains("[spike] levels"), "{e}");
        let e = from_toml("[water_class]\nlevels = [{ at = 1, severity = \"pink\" }]\n")
            .expect_err("bad severity");
        assert!(e.contains("pink") && e.contains("line 2"), "{e}");
        let e = from_toml("[targets]\nriver = \"III\"\nlake = \"IV\"\ngood_share_percent = 120\n")
            .expect_err("not a share");
        assert!(e.contains("good_share_percent = 120"), "{e}");
        let e = from_toml("[spike_min_rise]\nph = 1.0\n").expect_err("not watched");
        assert!(e.contains("ph"), "{e}");
    }

    #[test]
    fn severity_is_the_highest_level_reached() {
        let r = Rules::default().water_class;
        assert_eq!(r.severity(0.0), None);
        assert_eq!(r.severity(1.0), Some(Severity::Yellow));
        assert_eq!(r.severity(2.5), Some(Severity::Orange));
        assert_eq!(r.severity(5.0), Some(Severity::Red));
    }
}
