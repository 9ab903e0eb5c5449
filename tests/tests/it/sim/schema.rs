//! The simulator's wire types against the spec's component schemas: a
//! difference in any structural keyword fails, so the simulator cannot drift
//! from `openapi/clouddc.yaml`.
//!
//! Both sides are reduced to the keywords that decide what is valid (type,
//! required, properties, alternatives, bounds, patterns); descriptions and
//! examples are dropped, `$ref`s are resolved, `anyOf` is read as `oneOf`
//! (schemars writes untagged enums as `anyOf`; the spec's alternatives, string
//! and integer, are disjoint, so the two mean the same), and integer width
//! formats (`uint8`) are dropped, as the spec states bounds instead.

use schemars::JsonSchema;
use schemars::r#gen::SchemaSettings;
use serde_json::{Map, Value, json};

use clouddc_sim::wire::{WireError, WirePercentage, WireTask};

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/clouddc.yaml"
    ))
    .expect("the spec");
    serde_yaml::from_str(&text).expect("the spec is YAML")
}

/// The schema schemars derives for `T`, with its definitions.
fn derived<T: JsonSchema>() -> (Value, Value) {
    let generator = SchemaSettings::openapi3().into_generator();
    let root = generator.into_root_schema_for::<T>();
    let root = serde_json::to_value(root).unwrap();
    let definitions = root.get("definitions").cloned().unwrap_or(json!({}));
    (root, definitions)
}

/// Resolves `$ref`s against `lookup` and keeps only the structural keywords.
fn normalise(schema: &Value, lookup: &dyn Fn(&str) -> Option<Value>) -> Value {
    let Value::Object(object) = schema else {
        return schema.clone();
    };
    if let Some(Value::String(reference)) = object.get("$ref") {
        let name = reference.rsplit('/').next().unwrap_or_default();
        let target = lookup(name).unwrap_or_else(|| panic!("unresolved {reference}"));
        return normalise(&target, lookup);
    }
    // schemars puts `$ref` in `allOf: [..]` when attributes sit beside it.
    if let Some(Value::Array(all)) = object.get("allOf")
        && all.len() == 1
    {
        return normalise(&all[0], lookup);
    }
    let mut out = Map::new();
    for (key, value) in object {
        let kept = match key.as_str() {
            "type" | "pattern" | "enum" | "minLength" | "maxLength" => value.clone(),
            "minimum" | "maximum" => json!(value.as_f64()),
            "format"
                if ![
                    "uint8", "uint16", "uint32", "uint64", "int32", "int64", "uint",
                ]
                .contains(&value.as_str().unwrap_or_default()) =>
            {
                value.clone()
            }
            "required" => {
                let mut names: Vec<_> = value.as_array().cloned().unwrap_or_default();
                names.sort_by_key(|v| v.to_string());
                Value::Array(names)
            }
            "properties" => Value::Object(
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, property)| (name.clone(), normalise(property, lookup)))
                    .collect(),
            ),
            "additionalProperties" | "items" => normalise(value, lookup),
            "oneOf" | "anyOf" => {
                let mut alternatives: Vec<Value> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|alternative| normalise(alternative, lookup))
                    .collect();
                alternatives.sort_by_key(Value::to_string);
                out.insert("oneOf".into(), Value::Array(alternatives));
                continue;
            }
            _ => continue,
        };
        out.insert(key.clone(), kept);
    }
    Value::Object(out)
}

fn compare<T: JsonSchema>(component: &str) {
    let spec = spec();
    let schemas = spec["components"]["schemas"].clone();
    let from_spec = normalise(&schemas[component], &|name| schemas.get(name).cloned());
    let (root, definitions) = derived::<T>();
    let from_code = normalise(&root, &move |name| definitions.get(name).cloned());
    assert_eq!(
        from_code,
        from_spec,
        "the simulator's {} differs from #/components/schemas/{component}",
        std::any::type_name::<T>()
    );
}

#[test]
fn export_task_matches_the_spec() {
    compare::<WireTask>("ExportTask");
}

#[test]
fn percentage_matches_the_spec() {
    compare::<WirePercentage>("Percentage");
}

#[test]
fn error_response_matches_the_spec() {
    compare::<WireError>("ErrorResponse");
}

/// The comparison is not vacuous: a type with a field the spec lacks, or a
/// looser bound, is told apart.
#[test]
fn a_drifted_type_is_caught() {
    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Drifted {
        error_code: String,
        error_msg: String,
        extra: u32,
    }
    let spec = spec();
    let schemas = spec["components"]["schemas"].clone();
    let lookup = move |name: &str| schemas.get(name).cloned();
    let from_spec = normalise(&spec["components"]["schemas"]["ErrorResponse"], &lookup);
    let (root, definitions) = derived::<Drifted>();
    let from_code = normalise(&root, &move |name| definitions.get(name).cloned());
    assert_ne!(from_code, from_spec);

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Loose(#[schemars(range(min = 0, max = 1000))] u16);
    let (root, definitions) = derived::<Loose>();
    let loose = normalise(&root, &move |name| definitions.get(name).cloned());
    assert_ne!(loose["maximum"], json!(100.0));
}
