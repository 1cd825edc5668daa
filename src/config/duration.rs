//! Durations as Helm 3 and kubectl take them (Go's `time.ParseDuration`): `600s`, `10m`, `1h30m`.
//! A bare number is rejected: Helm 2 took seconds as a number, Helm 3 fails on it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoDuration {
    text: String,
    value: Duration,
}

impl GoDuration {
    pub fn as_str(&self) -> &str {
        &self.text
    }
    pub fn duration(&self) -> Duration {
        self.value
    }
}

impl Default for GoDuration {
    fn default() -> Self {
        "10m".parse().unwrap_or(GoDuration {
            text: "10m".into(),
            value: Duration::from_secs(600),
        })
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for GoDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("`{s}` is not a duration; write a number with a unit, e.g. 600s, 10m or 1h30m")
        };
        if s.is_empty() || s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(bad());
        }
        let mut total = 0f64;
        let mut rest = s;
        while !rest.is_empty() {
            let n = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(bad)?;
            if n == 0 {
                return Err(bad());
            }
            let number: f64 = rest[..n].parse().map_err(|_| bad())?;
            rest = &rest[n..];
            let u = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let seconds = match &rest[..u] {
                "ns" => 1e-9,
                "us" | "µs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return Err(bad()),
            };
            total += number * seconds;
            rest = &rest[u..];
        }
        if !total.is_finite() || total > 1e9 {
            return Err(bad());
        }
        Ok(GoDuration {
            text: s.to_string(),
            value: Duration::from_secs_f64(total),
        })
    }
}

impl<'de> serde::Deserialize<'de> for GoDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = GoDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration with a unit, e.g. 600s or 10m")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<GoDuration, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<GoDuration, E> {
                Err(E::custom(format!(
                    "a bare number ({v}) is not a duration: Helm 3 needs a unit, e.g. {v}s"
                )))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<GoDuration, E> {
                Err(E::custom(format!(
                    "a bare number ({v}) is not a duration: Helm 3 needs a unit, e.g. {v}s"
                )))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<GoDuration, E> {
                Err(E::custom(format!(
                    "a bare number ({v}) is not a duration: Helm 3 needs a unit, e.g. {v}s"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        for (s, secs) in [
            ("600s", 600.0),
            ("10m", 600.0),
            ("1h30m", 5400.0),
            ("1.5s", 1.5),
            ("250ms", 0.25),
        ] {
            let d: GoDuration = s.parse().unwrap();
            assert_eq!(d.duration().as_secs_f64(), secs, "{s}");
            assert_eq!(d.to_string(), s);
        }
    }

    #[test]
    fn rejects_bare_numbers_and_junk() {
        for s in ["600", "", "10x", "m", "1m2", "-5s", "5 s"] {
            assert!(s.parse::<GoDuration>().is_err(), "{s} accepted");
        }
    }

    #[test]
    fn yaml_number_is_explained() {
        let e = serde_yaml::from_str::<GoDuration>("600")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a bare number (600) is not a duration"), "{e}");
    }
}
