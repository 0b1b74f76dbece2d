//! The caps on a component's self-description: how long each field of the config that
//! `describe` returns may be, how many parameters and allowed values it may declare, and
//! how big the whole may be. The catalogue, the OpenAPI document, the console and every
//! listing carry these texts, so without a cap one component could make each of them as
//! big as its memory. A config over a cap is refused at load (422 `invalid_config`), the
//! problem naming the field and the cap.
//!
//! The whole is measured as the bytes of guest memory the config's strings and lists
//! span when `describe` returns it: every string's bytes, and each list element's record.
//! That budget is charged while the config is copied out of the guest
//! (`super::described`), so a config over it is refused before what is over it is
//! copied; the other caps are checked when the config is parsed.

use super::described::{PARAM_RECORD_BYTES, TEXT_ITEM_BYTES};
use super::{ConfigProblem, RawConfig, RawParam};

/// An operation's or a parameter's name: a `snake_case` identifier.
pub const MAX_NAME_BYTES: usize = 64;
/// The operation's version (semver, with any pre-release and build metadata).
pub const MAX_VERSION_BYTES: usize = 64;
/// The catalogue category.
pub const MAX_CATEGORY_BYTES: usize = 64;
/// The one line shown in listings.
pub const MAX_SUMMARY_BYTES: usize = 256;
/// The operation's documentation (markdown).
pub const MAX_DESCRIPTION_BYTES: usize = 16 * 1024;
/// The path template.
pub const MAX_PATH_BYTES: usize = 512;
/// The JSON Schema of a success's `data`, as JSON text.
pub const MAX_RESPONSE_SCHEMA_BYTES: usize = 64 * 1024;
/// Parameters one operation declares.
pub const MAX_PARAMS: usize = 64;
/// A parameter's documentation.
pub const MAX_PARAM_DESCRIPTION_BYTES: usize = 4 * 1024;
/// A parameter's default, as JSON text.
pub const MAX_DEFAULT_BYTES: usize = 4 * 1024;
/// A parameter's regular expression.
pub const MAX_PATTERN_BYTES: usize = 1024;
/// The allowed values (`one_of`) of one parameter.
pub const MAX_ONE_OF: usize = 256;
/// One allowed value, as JSON text.
pub const MAX_ONE_OF_VALUE_BYTES: usize = 256;
/// The outbound destinations one operation requests.
pub const MAX_OUTBOUND_HOSTS: usize = 64;
/// One requested destination pattern.
pub const MAX_DESTINATION_BYTES: usize = 256;
/// The shared buckets one operation requests.
pub const MAX_BUCKETS: usize = 64;
/// A bucket's name.
pub const MAX_BUCKET_NAME_BYTES: usize = 64;
/// The whole config: its strings' bytes and its lists' elements, as returned.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;

/// The problem of a config whose whole is over [`MAX_CONFIG_BYTES`].
pub fn over_whole_config() -> ConfigProblem {
    ConfigProblem::over_cap(
        "config",
        format!(
            "over the cap of {MAX_CONFIG_BYTES} bytes for a whole config (its strings and list elements)"
        ),
        MAX_CONFIG_BYTES,
    )
}

/// Every cap `raw` is over, each naming its field and the cap.
pub(super) fn over_caps(raw: &RawConfig) -> Vec<ConfigProblem> {
    let mut over = Over(Vec::new());
    let size = config_bytes(raw);
    if size > MAX_CONFIG_BYTES {
        over.0.push(ConfigProblem::over_cap(
            "config",
            format!(
                "{size} bytes, over the cap of {MAX_CONFIG_BYTES} bytes for a whole config \
                 (its strings and list elements)"
            ),
            MAX_CONFIG_BYTES,
        ));
    }
    over.text("name", &raw.name, MAX_NAME_BYTES);
    over.text("version", &raw.version, MAX_VERSION_BYTES);
    over.text("category", &raw.category, MAX_CATEGORY_BYTES);
    over.text("summary", &raw.summary, MAX_SUMMARY_BYTES);
    over.text("description", &raw.description, MAX_DESCRIPTION_BYTES);
    over.text("path", &raw.path, MAX_PATH_BYTES);
    if let Some(schema) = &raw.response_schema {
        over.text("response_schema", schema, MAX_RESPONSE_SCHEMA_BYTES);
    }
    over.count(
        "outbound_hosts",
        "destinations",
        raw.outbound_hosts.len(),
        MAX_OUTBOUND_HOSTS,
    );
    over.longest("outbound_hosts", &raw.outbound_hosts, MAX_DESTINATION_BYTES);
    over.count("buckets", "buckets", raw.buckets.len(), MAX_BUCKETS);
    over.longest("buckets", &raw.buckets, MAX_BUCKET_NAME_BYTES);
    over.count("params", "parameters", raw.params.len(), MAX_PARAMS);
    for (index, param) in raw.params.iter().enumerate() {
        let field = param_field(index, param);
        over.text(&format!("{field}.name"), &param.name, MAX_NAME_BYTES);
        over.text(
            &format!("{field}.description"),
            &param.description,
            MAX_PARAM_DESCRIPTION_BYTES,
        );
        if let Some(default) = &param.default {
            over.text(&format!("{field}.default"), default, MAX_DEFAULT_BYTES);
        }
        if let Some(pattern) = &param.pattern {
            over.text(&format!("{field}.pattern"), pattern, MAX_PATTERN_BYTES);
        }
        let one_of = format!("{field}.one_of");
        over.count(&one_of, "allowed values", param.one_of.len(), MAX_ONE_OF);
        over.longest(&one_of, &param.one_of, MAX_ONE_OF_VALUE_BYTES);
    }
    over.0
}

/// The problems found so far.
struct Over(Vec<ConfigProblem>);

impl Over {
    /// `field`'s `value` is at most `cap` bytes.
    fn text(&mut self, field: &str, value: &str, cap: usize) {
        if value.len() > cap {
            self.0.push(ConfigProblem::over_cap(
                field,
                format!("{} bytes, over the cap of {cap} bytes", value.len()),
                cap,
            ));
        }
    }

    /// Each of `field`'s `values` is at most `cap` bytes; the first over it is reported
    /// by its length alone.
    fn longest(&mut self, field: &str, values: &[String], cap: usize) {
        if let Some(value) = values.iter().find(|value| value.len() > cap) {
            self.0.push(ConfigProblem::over_cap(
                field,
                format!(
                    "a value of {} bytes, over the cap of {cap} bytes a value",
                    value.len()
                ),
                cap,
            ));
        }
    }

    /// `field` holds at most `cap` `things`.
    fn count(&mut self, field: &str, things: &str, count: usize, cap: usize) {
        if count > cap {
            self.0.push(ConfigProblem::over_cap(
                field,
                format!("{count} {things}, over the cap of {cap}"),
                cap,
            ));
        }
    }
}

/// A parameter's field: by its name, or by its position when the name is itself over
/// its cap.
fn param_field(index: usize, param: &RawParam) -> String {
    if param.name.len() <= MAX_NAME_BYTES {
        format!("params.{}", param.name)
    } else {
        format!("params[{index}]")
    }
}

/// The bytes of guest memory `raw`'s strings and lists span, as `describe` returns it.
fn config_bytes(raw: &RawConfig) -> usize {
    let texts = [
        &raw.name,
        &raw.version,
        &raw.category,
        &raw.summary,
        &raw.description,
        &raw.path,
    ]
    .iter()
    .map(|text| text.len())
    .sum::<usize>()
        + raw.response_schema.as_ref().map_or(0, String::len);
    let lists = [&raw.outbound_hosts, &raw.buckets]
        .iter()
        .flat_map(|list| list.iter())
        .map(|text| TEXT_ITEM_BYTES + text.len())
        .sum::<usize>();
    let params = raw
        .params
        .iter()
        .map(|param| {
            PARAM_RECORD_BYTES
                + param.name.len()
                + param.description.len()
                + param.default.as_ref().map_or(0, String::len)
                + param.pattern.as_ref().map_or(0, String::len)
                + param
                    .one_of
                    .iter()
                    .map(|value| TEXT_ITEM_BYTES + value.len())
                    .sum::<usize>()
        })
        .sum::<usize>();
    texts + lists + params
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Location, OperationSpec, ParamType};

    fn config() -> RawConfig {
        let mut level = RawParam::new("level", Location::Query, ParamType::String);
        level.one_of = vec!["\"low\"".into(), "\"high\"".into()];
        RawConfig::new("op", "GET", "/api/v1/op", vec![level])
    }

    /// The one problem parsing `raw` reports: its field and cap.
    fn refusal(raw: &RawConfig) -> (String, Option<usize>) {
        let problems = OperationSpec::parse(raw).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        (problems[0].field.clone(), problems[0].cap)
    }

    fn text(bytes: usize) -> String {
        "x".repeat(bytes)
    }

    #[test]
    fn every_text_of_the_config_is_capped() {
        type Set = fn(&mut RawConfig, String);
        let cases: [(&str, usize, Set); 6] = [
            ("version", MAX_VERSION_BYTES, |raw, text| raw.version = text),
            ("category", MAX_CATEGORY_BYTES, |raw, text| {
                raw.category = text
            }),
            ("summary", MAX_SUMMARY_BYTES, |raw, text| raw.summary = text),
            ("description", MAX_DESCRIPTION_BYTES, |raw, text| {
                raw.description = text
            }),
            ("path", MAX_PATH_BYTES, |raw, text| {
                raw.path = format!("/{}", &text[1..])
            }),
            ("response_schema", MAX_RESPONSE_SCHEMA_BYTES, |raw, text| {
                raw.response_schema = Some(format!("{{\"description\":\"{}\"}}", &text[18..]))
            }),
        ];
        for (field, cap, set) in cases {
            let mut at_cap = config();
            set(&mut at_cap, text(cap));
            let over = OperationSpec::parse(&at_cap).err().unwrap_or_default();
            assert!(
                over.iter().all(|problem| problem.cap.is_none()),
                "{field} at its cap is within it: {over:#?}"
            );
            let mut over_cap = config();
            set(&mut over_cap, text(cap + 1));
            assert_eq!(refusal(&over_cap), (field.to_owned(), Some(cap)));
        }
    }

    #[test]
    fn an_over_long_name_is_refused_without_being_echoed() {
        let mut raw = config();
        raw.name = text(MAX_NAME_BYTES + 1);
        let problems = OperationSpec::parse(&raw).unwrap_err();
        assert_eq!(
            problems,
            [ConfigProblem::over_cap(
                "name",
                format!("65 bytes, over the cap of {MAX_NAME_BYTES} bytes"),
                MAX_NAME_BYTES
            )]
        );
    }

    #[test]
    fn every_field_of_a_parameter_is_capped_under_its_name() {
        type Set = fn(&mut RawParam, String);
        let cases: [(&str, usize, Set); 4] = [
            ("description", MAX_PARAM_DESCRIPTION_BYTES, |param, text| {
                param.description = text
            }),
            ("default", MAX_DEFAULT_BYTES, |param, text| {
                param.default = Some(format!("\"{}\"", &text[2..]))
            }),
            ("pattern", MAX_PATTERN_BYTES, |param, text| {
                param.pattern = Some(text)
            }),
            ("one_of", MAX_ONE_OF_VALUE_BYTES, |param, text| {
                param.one_of.push(format!("\"{}\"", &text[2..]))
            }),
        ];
        for (field, cap, set) in cases {
            let mut at_cap = config();
            set(&mut at_cap.params[0], text(cap));
            let problems = OperationSpec::parse(&at_cap).err().unwrap_or_default();
            assert!(
                problems.iter().all(|problem| problem.cap.is_none()),
                "{field} at its cap is within it: {problems:#?}"
            );
            let mut over_cap = config();
            set(&mut over_cap.params[0], text(cap + 1));
            assert_eq!(
                refusal(&over_cap),
                (format!("params.level.{field}"), Some(cap))
            );
        }
    }

    #[test]
    fn a_parameter_named_past_its_cap_is_named_by_position() {
        let mut raw = config();
        raw.params[0].name = text(MAX_NAME_BYTES + 1);
        assert_eq!(
            refusal(&raw),
            ("params[0].name".to_owned(), Some(MAX_NAME_BYTES))
        );
    }

    #[test]
    fn parameters_and_allowed_values_are_counted() {
        let mut raw = config();
        raw.params = (0..=MAX_PARAMS)
            .map(|i| RawParam::new(&format!("p{i}"), Location::Query, ParamType::Integer))
            .collect();
        assert_eq!(refusal(&raw), ("params".to_owned(), Some(MAX_PARAMS)));
        raw.params.pop();
        assert!(
            OperationSpec::parse(&raw).is_ok(),
            "{MAX_PARAMS} are within the cap"
        );

        let mut raw = config();
        raw.params[0].one_of = (0..=MAX_ONE_OF).map(|i| format!("\"{i}\"")).collect();
        assert_eq!(
            refusal(&raw),
            ("params.level.one_of".to_owned(), Some(MAX_ONE_OF))
        );
    }

    #[test]
    fn requested_destinations_and_buckets_are_counted_and_capped() {
        let mut raw = config();
        raw.outbound_hosts = (0..=MAX_OUTBOUND_HOSTS)
            .map(|port| format!("http://a.example:{}", port + 1))
            .collect();
        assert_eq!(
            refusal(&raw),
            ("outbound_hosts".to_owned(), Some(MAX_OUTBOUND_HOSTS))
        );
        raw.outbound_hosts.pop();
        assert!(OperationSpec::parse(&raw).is_ok());
        raw.outbound_hosts = vec![format!("https://{}:1", text(MAX_DESTINATION_BYTES))];
        assert_eq!(
            refusal(&raw),
            ("outbound_hosts".to_owned(), Some(MAX_DESTINATION_BYTES))
        );

        let mut raw = config();
        raw.buckets = (0..=MAX_BUCKETS).map(|i| format!("b{i}")).collect();
        assert_eq!(refusal(&raw), ("buckets".to_owned(), Some(MAX_BUCKETS)));
        raw.buckets = vec![text(MAX_BUCKET_NAME_BYTES)];
        assert!(OperationSpec::parse(&raw).is_ok());
        raw.buckets = vec![text(MAX_BUCKET_NAME_BYTES + 1)];
        assert_eq!(
            refusal(&raw),
            ("buckets".to_owned(), Some(MAX_BUCKET_NAME_BYTES))
        );
    }

    #[test]
    fn the_whole_config_is_capped_even_when_each_field_is_within_its_own() {
        let mut raw = config();
        raw.params = (0..MAX_PARAMS)
            .map(|i| {
                let mut param = RawParam::new(&format!("p{i}"), Location::Query, ParamType::String);
                param.description = text(MAX_PARAM_DESCRIPTION_BYTES);
                param
            })
            .collect();
        assert!(config_bytes(&raw) > MAX_CONFIG_BYTES);
        assert_eq!(refusal(&raw), ("config".to_owned(), Some(MAX_CONFIG_BYTES)));
        // Within the whole, the same parameters parse.
        raw.params
            .truncate(MAX_CONFIG_BYTES / (MAX_PARAM_DESCRIPTION_BYTES + 256));
        assert!(OperationSpec::parse(&raw).is_ok());
    }

    #[test]
    fn a_config_over_a_cap_is_refused_for_that_alone() {
        let mut raw = config();
        raw.summary = text(MAX_SUMMARY_BYTES + 1);
        raw.path = "no-slash".to_owned();
        assert_eq!(
            refusal(&raw),
            ("summary".to_owned(), Some(MAX_SUMMARY_BYTES))
        );
    }
}
