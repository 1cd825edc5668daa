//! Helm values as helm layers them: files merged in order (maps deep-merged, anything else
//! replaced), then `--set-string` values on top.

use serde_json::Value;

/// Deep-merge YAML values files in order (the chart's defaults are Flux's business).
pub fn merge_values(docs: impl IntoIterator<Item = Value>) -> Value {
    fn merge(base: &mut Value, over: Value) {
        match (base, over) {
            (Value::Object(b), Value::Object(o)) => {
                for (k, v) in o {
                    match b.get_mut(&k) {
                        Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                        _ => {
                            b.insert(k, v);
                        }
                    }
                }
            }
            (b, o) => *b = o,
        }
    }
    let mut out = Value::Object(Default::default());
    for d in docs {
        if !d.is_null() {
            merge(&mut out, d);
        }
    }
    out
}

/// Set `--set-string` values into merged values (`a.b.c=v`: nested maps, the value a string).
pub fn set_string(values: &mut Value, key: &str, value: &str) {
    let mut slot = values;
    for part in key.split('.') {
        if !slot.is_object() {
            *slot = Value::Object(Default::default());
        }
        let Value::Object(m) = slot else { return };
        slot = m.entry(part.to_string()).or_insert(Value::Null);
    }
    *slot = Value::String(value.to_string());
}
