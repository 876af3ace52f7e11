//! Templating: `{{field}}` placeholders in a JSON payload or an endpoint, and the checking and
//! normalising of collected values against their field types.
//!
//! A string that is exactly one placeholder takes the field's JSON value (a number stays a
//! number); placeholders inside longer strings render as text. A missing optional field renders
//! as `null` (whole-string placeholder) or as an empty string (inside text).

mod values;

pub use values::{CollectedData, MAX_DATA_BYTES, check_data, normalise};

use serde_json::{Map, Value};

/// Placeholders every template may use besides the declared fields.
pub const BUILTINS: [&str; 3] = ["timestamp", "sessionId", "handoffId"];

/// Values a template is rendered with: the collected (checked) fields and the built-ins.
pub struct RenderContext<'a> {
    pub data: &'a Map<String, Value>,
    pub timestamp: String,
    pub session_id: &'a str,
    pub handoff_id: String,
}

impl RenderContext<'_> {
    fn lookup(&self, name: &str) -> Value {
        match name {
            "timestamp" => Value::String(self.timestamp.clone()),
            "sessionId" => Value::String(self.session_id.to_string()),
            "handoffId" => Value::String(self.handoff_id.clone()),
            field => self.data.get(field).cloned().unwrap_or(Value::Null),
        }
    }
}

/// One piece of a template string.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// Splits `s` into text and `{{ name }}` placeholders. An unclosed `{{` is text.
fn pieces(s: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            break;
        };
        let inner = rest[open + 2..open + 2 + close].trim();
        if inner.is_empty() || !inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            // Not a placeholder (e.g. literal braces in text): keep it verbatim.
            out.push(Piece::Text(&rest[..open + 2]));
            rest = &rest[open + 2..];
            continue;
        }
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        out.push(Piece::Placeholder(inner));
        rest = &rest[open + 2 + close + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// The longest piece of a template quoted in a problem.
const MAX_QUOTED: usize = 40;

/// What is wrong with the template syntax of `s`, one reason per place. The console's
/// templates have one form, `{{name}}` (a field or built-in; spaces inside are fine): anything
/// else between `{{` and `}}` (a filter `{{a | upper}}`, a block `{{#each}}` or `{{/each}}`, a
/// path `{{a.b}}`, a partial, triple braces) and a `{{` that is never closed belong to other
/// template languages; sent as they are, they would reach the target as literal text, so a
/// config holding them is refused.
pub fn syntax_problems(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push(format!(
                "{} opens a placeholder that is never closed with '}}}}'",
                quote(&rest[open..])
            ));
            break;
        };
        let raw = &after[..close];
        let inner = raw.trim();
        let whole = &rest[open..open + 2 + close + 2];
        let is_name =
            !inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_name {
            let what = match inner.chars().next() {
                None => "an empty placeholder".to_string(),
                Some('#' | '/' | '^') => "a block (#each, #if…)".to_string(),
                Some('>') => "a partial".to_string(),
                Some('!') => "a comment".to_string(),
                Some('{') | Some('&') => "an unescaped placeholder".to_string(),
                _ if inner.contains('|') => "a filter ('|')".to_string(),
                _ if inner.contains('.') || inner.contains('[') => {
                    "a path into a value".to_string()
                }
                _ if inner.contains(char::is_whitespace) => "a helper with arguments".to_string(),
                _ => "characters a field name cannot have".to_string(),
            };
            out.push(format!(
                "{} is {what}, which the console's templates do not have: a placeholder is a \
                 field's name alone, like {{{{fullName}}}}",
                quote(whole)
            ));
        }
        rest = &after[close + 2..];
    }
    out
}

/// `'text'`, cut to [`MAX_QUOTED`] characters.
fn quote(s: &str) -> String {
    if s.chars().count() > MAX_QUOTED {
        format!("'{}…'", s.chars().take(MAX_QUOTED).collect::<String>())
    } else {
        format!("'{s}'")
    }
}

/// [`syntax_problems`] of every string and key of a JSON template, each with the path under
/// `at` where it is (`api.payloadStructure.patient.name`, `….items[0]`).
pub fn template_problems(template: &Value, at: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    template_problems_into(template, at, &mut out);
    out
}

fn template_problems_into(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.extend(syntax_problems(s).into_iter().map(|r| (at.to_string(), r))),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                template_problems_into(item, &format!("{at}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{at}.{k}");
                out.extend(syntax_problems(k).into_iter().map(|r| (here.clone(), r)));
                template_problems_into(v, &here, out);
            }
        }
        _ => {}
    }
}

/// Placeholder names in a string, in order of appearance.
pub fn placeholders_in_str(s: &str) -> Vec<String> {
    pieces(s)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Placeholder(name) => Some(name.to_string()),
            Piece::Text(_) => None,
        })
        .collect()
}

/// Placeholder names anywhere in a JSON template (in strings and in object keys).
pub fn placeholders(template: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(template, &mut out);
    out
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.extend(placeholders_in_str(s)),
        Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.extend(placeholders_in_str(k));
                collect(v, out);
            }
        }
        _ => {}
    }
}

/// `s` with every placeholder replaced by `x`, for checking the shape of a templated URL.
pub fn fill_for_check(s: &str) -> String {
    pieces(s)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t,
            Piece::Placeholder(_) => "x",
        })
        .collect()
}

/// A value as text inside a longer string: strings bare, null empty, the rest as JSON.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Renders a string: a lone placeholder keeps its JSON type.
fn render_str(s: &str, ctx: &RenderContext<'_>) -> Value {
    let parts = pieces(s);
    if let [Piece::Placeholder(name)] = parts.as_slice() {
        return ctx.lookup(name);
    }
    let mut out = String::with_capacity(s.len());
    for p in parts {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder(name) => out.push_str(&as_text(&ctx.lookup(name))),
        }
    }
    Value::String(out)
}

/// Renders a JSON template.
pub fn render(template: &Value, ctx: &RenderContext<'_>) -> Value {
    match template {
        Value::String(s) => render_str(s, ctx),
        Value::Array(items) => Value::Array(items.iter().map(|i| render(i, ctx)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (as_text(&render_str(k, ctx)), render(v, ctx)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Renders a templated URL, percent-encoding each substituted value so that it cannot change
/// the URL's structure.
pub fn render_url(s: &str, ctx: &RenderContext<'_>) -> String {
    pieces(s)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t.to_string(),
            Piece::Placeholder(name) => {
                url::form_urlencoded::byte_serialize(as_text(&ctx.lookup(name)).as_bytes())
                    .collect::<String>()
                    .replace('+', "%20")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(data: &Map<String, Value>) -> RenderContext<'_> {
        RenderContext {
            data,
            timestamp: "2026-01-02T03:04:05Z".into(),
            session_id: "s-1",
            handoff_id: "h-1".into(),
        }
    }

    #[test]
    fn lone_placeholder_keeps_json_type_and_embedded_renders_text() {
        let data = json!({"age": 42, "ok": true, "name": "Ann"})
            .as_object()
            .unwrap()
            .clone();
        let out = render(
            &json!({"a": "{{age}}", "b": "{{ ok }}", "c": "Age {{age}} for {{name}}", "d": ["{{name}}", 1]}),
            &ctx(&data),
        );
        assert_eq!(
            out,
            json!({"a": 42, "b": true, "c": "Age 42 for Ann", "d": ["Ann", 1]})
        );
    }

    #[test]
    fn builtins_and_missing_optional_fields() {
        let data = Map::new();
        let out = render(
            &json!({"t": "{{timestamp}}", "s": "{{sessionId}}", "h": "id={{handoffId}}", "m": "{{missing}}", "e": "x{{missing}}y"}),
            &ctx(&data),
        );
        assert_eq!(
            out,
            json!({"t": "2026-01-02T03:04:05Z", "s": "s-1", "h": "id=h-1", "m": null, "e": "xy"})
        );
    }

    #[test]
    fn non_placeholders_stay_verbatim() {
        assert_eq!(
            placeholders_in_str("{{}} {{ a b }} {{ok}} {{unclosed"),
            vec!["ok"]
        );
        let data = Map::new();
        assert_eq!(render(&json!("{{}} {x}"), &ctx(&data)), json!("{{}} {x}"));
    }

    #[test]
    fn template_syntax_the_console_does_not_have_is_named() {
        assert!(syntax_problems("Age {{age}} for {{ name }}, {x} and }} alone").is_empty());
        let one = |s: &str| {
            let p = syntax_problems(s);
            assert_eq!(p.len(), 1, "{s}: {p:?}");
            p[0].clone()
        };
        assert!(one("{{a | upper}}").starts_with("'{{a | upper}}' is a filter ('|')"));
        assert!(one("{{#each items}}x").contains("is a block"));
        assert!(one("x{{/each}}").contains("is a block"));
        assert!(one("{{> footer}}").contains("is a partial"));
        assert!(one("{{a.b}}").contains("is a path into a value"));
        assert!(one("{{{raw}}}").contains("is an unescaped placeholder"));
        assert!(one("{{}}").contains("is an empty placeholder"));
        assert!(one("{{format date}}").contains("is a helper with arguments"));
        assert!(one("Dear {{name").contains("'{{name' opens a placeholder that is never closed"));
        let both = syntax_problems("{{#if a}}{{a}}{{/if}}");
        assert_eq!(both.len(), 2, "{both:?}");
        let nested = template_problems(
            &json!({"p": {"n": "{{a|x}}"}, "{{#k}}": 1, "l": ["ok", "{{"]}),
            "api.payloadStructure",
        );
        let paths: Vec<&str> = nested.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "api.payloadStructure.p.n",
                "api.payloadStructure.{{#k}}",
                "api.payloadStructure.l[1]"
            ]
        );
    }

    #[test]
    fn placeholders_found_in_keys_and_nested_values() {
        let t = json!({"{{k}}": [{"x": "{{a}} and {{b}}"}], "n": 1});
        assert_eq!(placeholders(&t), vec!["k", "a", "b"]);
    }

    #[test]
    fn url_values_are_percent_encoded() {
        let data = json!({"id": "a/b?c d"}).as_object().unwrap().clone();
        assert_eq!(
            render_url("http://h/p/{{id}}", &ctx(&data)),
            "http://h/p/a%2Fb%3Fc%20d"
        );
    }
}
