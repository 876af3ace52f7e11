//! Writes the UI's client, `ui/src/api/operations.ts`, from the operation list when `cargo test`
//! runs (as ts-rs writes the types it imports): the table of operations the transports read, and
//! one typed method per operation. `scripts/test.sh` fails when the committed file differs.

use super::types::*;
use super::{Input, Operation, all};
use std::fmt::Write as _;
use ts_rs::{Config, Dependency, TS, TypeVisitor};

/// One operation with its TypeScript types.
struct TsOperation {
    op: Operation,
    /// Each path parameter's TypeScript type.
    param_types: Vec<String>,
    /// The request's type, and whether every field of it is optional (it may then be left out).
    request: Option<(String, bool)>,
    response: String,
    imports: Vec<Dependency>,
}

/// The types to import for `T`: itself when it is exported, otherwise what it wraps
/// (`Vec<T>`, `Option<T>`).
fn imports_of<T: TS + 'static + ?Sized>(cfg: &Config) -> Vec<Dependency> {
    struct Wrapped<'a>(&'a Config, Vec<Dependency>);
    impl TypeVisitor for Wrapped<'_> {
        fn visit<U: TS + 'static + ?Sized>(&mut self) {
            let found = imports_of::<U>(self.0);
            self.1.extend(found);
        }
    }
    if let Some(own) = Dependency::from_ty::<T>(cfg) {
        return vec![own];
    }
    let mut wrapped = Wrapped(cfg, Vec::new());
    T::visit_generics(&mut wrapped);
    wrapped.1
}

/// Whether every top-level field of an inline object type is optional (`{ a?: X, b?: Y, }`).
fn all_optional(inline: &str) -> bool {
    let Some(body) = inline
        .trim()
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
    else {
        return false;
    };
    // Field comments (`/** ... */`) say anything; they are not fields.
    let mut code = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        rest = rest[start..]
            .split_once("*/")
            .map_or("", |(_, after)| after);
    }
    code.push_str(rest);
    let (mut depth, mut field, mut fields) = (0i32, String::new(), Vec::new());
    for c in code.chars() {
        match c {
            '{' | '[' | '<' | '(' => depth += 1,
            '}' | ']' | '>' | ')' => depth -= 1,
            ',' | ';' if depth == 0 => {
                fields.push(std::mem::take(&mut field));
                continue;
            }
            _ => {}
        }
        field.push(c);
    }
    fields.push(field);
    fields
        .iter()
        .map(|f| f.trim())
        .filter(|f| !f.is_empty())
        .all(|f| {
            f.split(':')
                .next()
                .is_some_and(|name| name.trim_end().ends_with('?'))
        })
}

macro_rules! ts_operations {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident $([$($flag:ident),*])? : $method:ident $path:literal
        ($($param:ident : $pty:ty),*) $input:ident $(($text:ident))? $(: $req:ty)? => $resp:ty;
    )*) => {
        fn ts_operations(cfg: &Config) -> Vec<TsOperation> {
            let mut list = all().into_iter();
            vec![$({
                let mut imports = Vec::new();
                $(imports.extend(imports_of::<$pty>(cfg));)*
                $(imports.extend(imports_of::<$req>(cfg));)?
                imports.extend(imports_of::<$resp>(cfg));
                let request: Option<(String, bool)> =
                    [$((<$req as TS>::name(cfg), all_optional(&<$req as TS>::inline(cfg))))?]
                        .into_iter()
                        .next();
                TsOperation {
                    op: list.next().expect("one operation per entry"),
                    param_types: vec![$(<$pty as TS>::name(cfg)),*],
                    request,
                    response: <$resp as TS>::name(cfg),
                    imports,
                }
            }),*]
        }
    };
}
operations!(ts_operations);

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn comment(doc: &str, indent: &str) -> String {
    let lines: Vec<&str> = doc
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = format!("{indent}/**");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            write!(out, "\n{indent} *").unwrap();
        }
        write!(out, " {line}").unwrap();
    }
    out.push_str(" */\n");
    out
}

/// The file's text.
fn client_ts(cfg: &Config) -> String {
    let ops = ts_operations(cfg);
    let mut imports: Vec<(String, String)> = ops
        .iter()
        .flat_map(|o| &o.imports)
        .map(|d| {
            let file = d.output_path.with_extension("");
            (d.ts_name.clone(), file.to_string_lossy().replace('\\', "/"))
        })
        .collect();
    imports.sort();
    imports.dedup();

    let mut ts = String::from(
        "// Generated by `cargo test` from src-tauri/service/operation_list.rs: do not edit.\n\
         // Every operation of the console: its HTTP route and Tauri command (OPERATIONS), and one\n\
         // typed call per operation (Operations), which client.ts runs over a transport.\n",
    );
    for (name, file) in &imports {
        writeln!(ts, "import type {{ {name} }} from \"./types/{file}\";").unwrap();
    }
    ts.push_str(
        "\n/** Where an operation's request goes over HTTP: nowhere, the query string, the JSON \
         body,\n * or the raw body (`textField`, the other fields in the query string). Over \
         Tauri it is the\n * `request` argument. */\n\
         export type Input = \"none\" | \"query\" | \"json\" | \"text\";\n\n\
         export interface Operation {\n  \
           /** The Tauri command. */\n  name: string;\n  \
           method: \"GET\" | \"POST\" | \"PUT\" | \"DELETE\";\n  \
           /** Under `/api/v1`, with `{param}` placeholders. */\n  path: string;\n  \
           params: readonly string[];\n  input: Input;\n  textField?: string;\n  \
           /** Only the desktop window has it. */\n  desktopOnly: boolean;\n}\n\n\
         export const OPERATIONS = {\n",
    );
    for o in &ops {
        let op = &o.op;
        let params: Vec<String> = op.params.iter().map(|p| format!("\"{p}\"")).collect();
        let (input, text) = match op.input {
            Input::None => ("none", String::new()),
            Input::Query => ("query", String::new()),
            Input::Json => ("json", String::new()),
            Input::Text(field) => ("text", format!(", textField: \"{field}\"")),
        };
        writeln!(
            ts,
            "  {name}: {{ name: \"{name}\", method: \"{method}\", path: \"{path}\", params: [{params}], \
             input: \"{input}\"{text}, desktopOnly: {desktop} }},",
            name = op.name,
            method = op.method,
            path = op.path,
            params = params.join(", "),
            desktop = op.desktop_only,
        )
        .unwrap();
    }
    ts.push_str(
        "} as const satisfies Record<string, Operation>;\n\n\
         export type OperationName = keyof typeof OPERATIONS;\n\n\
         /** One typed call per operation; a subclass runs them over a transport. */\n\
         export abstract class Operations {\n  \
           /** Runs `op` with its path parameters (by the names in its path) and its request. */\n  \
           protected abstract run<T>(op: Operation, params: Record<string, unknown>, request: unknown): Promise<T>;\n",
    );
    for o in &ops {
        let op = &o.op;
        ts.push('\n');
        ts.push_str(&comment(op.doc, "  "));
        let mut args: Vec<String> = op
            .params
            .iter()
            .zip(&o.param_types)
            .map(|(p, t)| format!("{}: {t}", camel(p)))
            .collect();
        if let Some((request, optional)) = &o.request {
            args.push(if *optional {
                format!("request: {request} = {{}}")
            } else {
                format!("request: {request}")
            });
        }
        let params: Vec<String> = op
            .params
            .iter()
            .map(|p| {
                let arg = camel(p);
                if arg == *p {
                    arg
                } else {
                    format!("{p}: {arg}")
                }
            })
            .collect();
        let request = if o.request.is_some() {
            "request"
        } else {
            "undefined"
        };
        writeln!(
            ts,
            "  {method}({args}): Promise<{response}> {{\n    \
             return this.run(OPERATIONS.{name}, {{ {params} }}, {request});\n  }}",
            method = camel(op.name),
            args = args.join(", "),
            response = o.response,
            name = op.name,
            params = params.join(", "),
        )
        .unwrap();
    }
    ts.push_str("}\n");
    ts.replace("{  }", "{}")
}

/// Writes the client beside the generated types (`TS_RS_EXPORT_DIR`'s parent).
#[test]
fn export_the_typescript_client() {
    let cfg = Config::from_env();
    let text = client_ts(&cfg);
    let dir = std::env::var("TS_RS_EXPORT_DIR").expect("TS_RS_EXPORT_DIR (.cargo/config.toml)");
    let path = std::path::Path::new(&dir)
        .parent()
        .expect("the types' parent folder")
        .join("operations.ts");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&path, text).expect("write operations.ts");
    }
}

#[test]
fn every_operation_has_its_typescript_call() {
    let text = client_ts(&Config::from_env());
    for op in all() {
        assert!(
            text.contains(&format!("  {}: {{ name: \"{}\"", op.name, op.name)),
            "{} is missing from OPERATIONS",
            op.name
        );
        assert!(
            text.contains(&format!("return this.run(OPERATIONS.{},", op.name)),
            "{} has no call",
            op.name
        );
    }
}

#[test]
fn a_request_whose_fields_are_all_optional_may_be_left_out() {
    assert!(all_optional("{ kind?: TargetKind, }"));
    assert!(all_optional(
        "{ a?: Array<{ b: string }>, c?: Record<string, number> }"
    ));
    assert!(!all_optional("{ integration: string, limit?: number, }"));
    assert!(!all_optional("string"));
    assert!(all_optional(
        "{ \n/**\n * An age: `1h`, `24h` (default: 24h).\n */\nwindow?: string, }"
    ));
}
