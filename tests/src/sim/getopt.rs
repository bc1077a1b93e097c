//! Option parsing the way VBoxManage's RTGetOpt does it.
//!
//! Long options take their value as the next argument, after `=` or after `:`; the old
//! single-dash spellings (`-name`) are accepted as aliases. Options that carry an adapter or
//! port number (`--nic2`, `--natpf1`) are declared once with [`Spec::indexed`].

/// One option a command accepts.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Without the leading dashes.
    pub name: &'static str,
    /// Another spelling, parsed as `name` (RTGetOpt's short option: `-l` for `--long`).
    pub alias: Option<&'static str>,
    pub takes_value: bool,
    /// Accepts a numeric suffix from 1 to this bound (`--nic1` .. `--nic8`).
    pub max_index: u32,
}

impl Spec {
    pub const fn flag(name: &'static str) -> Spec {
        Spec {
            name,
            alias: None,
            takes_value: false,
            max_index: 0,
        }
    }
    pub const fn value(name: &'static str) -> Spec {
        Spec {
            name,
            alias: None,
            takes_value: true,
            max_index: 0,
        }
    }
    pub const fn indexed(name: &'static str, max_index: u32) -> Spec {
        Spec {
            name,
            alias: None,
            takes_value: true,
            max_index,
        }
    }
    /// The same option under another spelling too.
    pub const fn or(self, alias: &'static str) -> Spec {
        Spec {
            alias: Some(alias),
            ..self
        }
    }
}

/// One parsed argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Opt {
        name: &'static str,
        index: u32,
        value: Option<String>,
    },
    Pos(String),
}

/// What RTGetOpt reports for a bad argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetOptError {
    /// An option nobody declared: `Unknown option: --bogus`.
    Unknown(String),
    /// An option whose value is missing.
    MissingValue(String),
}

/// Parses `args` against `specs`.
pub fn getopt(args: &[String], specs: &[Spec]) -> Result<Vec<Arg>, GetOptError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if !a.starts_with('-') || a == "-" || looks_negative_number(a) {
            out.push(Arg::Pos(a.clone()));
            continue;
        }
        let body = a.trim_start_matches('-');
        let (key, inline) = match body.find(['=', ':']) {
            Some(p) => (&body[..p], Some(body[p + 1..].to_string())),
            None => (body, None),
        };
        let Some((spec, index)) = match_spec(key, specs) else {
            return Err(GetOptError::Unknown(a.clone()));
        };
        let value = if spec.takes_value {
            match inline {
                Some(v) => Some(v),
                None if i < args.len() => {
                    i += 1;
                    Some(args[i - 1].clone())
                }
                None => return Err(GetOptError::MissingValue(format!("--{key}"))),
            }
        } else {
            if inline.is_some() {
                return Err(GetOptError::Unknown(a.clone()));
            }
            None
        };
        out.push(Arg::Opt {
            name: spec.name,
            index,
            value,
        });
    }
    Ok(out)
}

fn looks_negative_number(a: &str) -> bool {
    a.len() > 1 && a[1..].chars().all(|c| c.is_ascii_digit())
}

fn match_spec(key: &str, specs: &[Spec]) -> Option<(Spec, u32)> {
    for s in specs {
        if s.max_index == 0 {
            if key == s.name || s.alias == Some(key) {
                return Some((*s, 0));
            }
        } else if let Some(rest) = key.strip_prefix(s.name)
            && let Ok(n) = rest.parse::<u32>()
            && (1..=s.max_index).contains(&n)
            && !rest.starts_with('0')
        {
            return Some((*s, n));
        }
    }
    None
}

/// Helpers over a parsed argument list.
pub trait ArgsExt {
    fn value_of(&self, name: &str) -> Option<&str>;
    fn has(&self, name: &str) -> bool;
    fn positionals(&self) -> Vec<&str>;
}

impl ArgsExt for [Arg] {
    fn value_of(&self, name: &str) -> Option<&str> {
        self.iter().rev().find_map(|a| match a {
            Arg::Opt { name: n, value, .. } if *n == name => value.as_deref(),
            _ => None,
        })
    }
    fn has(&self, name: &str) -> bool {
        self.iter()
            .any(|a| matches!(a, Arg::Opt { name: n, .. } if *n == name))
    }
    fn positionals(&self) -> Vec<&str> {
        self.iter()
            .filter_map(|a| match a {
                Arg::Pos(p) => Some(p.as_str()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn values_in_all_spellings() {
        let specs = [
            Spec::value("name"),
            Spec::flag("register"),
            Spec::indexed("nic", 8),
        ];
        let got = getopt(
            &s(&[
                "--name",
                "a",
                "-register",
                "--nic2=hostonly",
                "--nic3:nat",
                "x",
            ]),
            &specs,
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                Arg::Opt {
                    name: "name",
                    index: 0,
                    value: Some("a".into())
                },
                Arg::Opt {
                    name: "register",
                    index: 0,
                    value: None
                },
                Arg::Opt {
                    name: "nic",
                    index: 2,
                    value: Some("hostonly".into())
                },
                Arg::Opt {
                    name: "nic",
                    index: 3,
                    value: Some("nat".into())
                },
                Arg::Pos("x".into()),
            ]
        );
    }

    #[test]
    fn an_alias_parses_as_its_option() {
        let specs = [Spec::flag("sorted").or("s")];
        for spelling in ["-s", "--s", "--sorted", "-sorted"] {
            let got = getopt(&s(&[spelling]), &specs).unwrap();
            assert!(got.has("sorted"), "{spelling}");
        }
    }

    #[test]
    fn unknown_and_out_of_range_options_are_refused() {
        let specs = [Spec::indexed("nic", 8)];
        assert_eq!(
            getopt(&s(&["--nic9", "x"]), &specs),
            Err(GetOptError::Unknown("--nic9".into()))
        );
        assert_eq!(
            getopt(&s(&["--bogus"]), &specs),
            Err(GetOptError::Unknown("--bogus".into()))
        );
        assert_eq!(
            getopt(&s(&["--nic1"]), &specs),
            Err(GetOptError::MissingValue("--nic1".into()))
        );
    }
}
