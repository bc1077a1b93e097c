//! Values compose files write as strings, read as the docker CLI reads them: Go durations,
//! port and volume short syntax, memory sizes, CPUs, image references, restart policies and
//! env files.

/// A port as the Engine API takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    pub target: u32,
    /// 0 when the swarm chooses.
    pub published: u32,
    pub protocol: String,
    /// `ingress` or `host`; empty means ingress.
    pub mode: String,
}

/// Go's `time.ParseDuration`: `300ms`, `1.5h`, `1m30s`, `0`; in nanoseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    const EXPECTED: &str = "write a number with a unit: ns, us, ms, s, m or h (e.g. 10s, 1m30s)";
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(format!("it is empty; {EXPECTED}"));
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(format!("'{text}' is not a duration; {EXPECTED}"));
        }
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("'{text}' has no unit; {EXPECTED}")),
            _ => {
                return Err(format!(
                    "'{text}' has the unknown unit '{unit}'; {EXPECTED}"
                ));
            }
        };
        let value: f64 = number
            .parse()
            .map_err(|_| format!("'{text}' is not a duration; {EXPECTED}"))?;
        total += value * scale;
    }
    if total > i64::MAX as f64 {
        return Err(format!("'{text}' is too long"));
    }
    let nanos = total.round() as i64;
    Ok(if negative { -nanos } else { nanos })
}

/// The short syntax of a port as the docker CLI reads it (go-connections' `ParsePortSpec`
/// and `ConvertPortToPortConfig`): `[IP:][PUBLISHED[-END]:]TARGET[-END][/PROTO]`, one port per
/// target, a published range for one target giving one port per published number. An IP is
/// ignored with a warning (swarm listens on every address), returned as the second value.
pub fn parse_port_spec(spec: &str) -> Result<(Vec<PortConfig>, Option<String>), String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let n = parts.len();
    let (mut ip, host_port, container) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        3 => (parts[0].to_string(), parts[1], parts[2]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (proto, container) = match container.split_once('/') {
        _ if container.is_empty() => ("", ""),
        None => ("tcp", container),
        Some((port, "")) => ("tcp", port),
        Some((port, proto)) => (proto, port),
    };
    if ip.starts_with('[') {
        ip = ip
            .strip_prefix('[')
            .and_then(|i| i.strip_suffix(']'))
            .ok_or_else(|| format!("invalid IP address {ip}"))?
            .to_string();
    }
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    if container.is_empty() {
        return Err(format!("no port specified: {spec}<empty>"));
    }
    let (start, end) =
        port_range(container).map_err(|_| format!("invalid containerPort: {container}"))?;
    let (host_start, host_end) = if host_port.is_empty() {
        (0, 0)
    } else {
        port_range(host_port).map_err(|_| format!("invalid hostPort: {host_port}"))?
    };
    if !host_port.is_empty() && (end - start) != (host_end - host_start) && end != start {
        return Err(format!(
            "invalid ranges specified for container and host Ports: {container} and {host_port}"
        ));
    }
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let warning = match ip.parse::<std::net::IpAddr>() {
        Ok(addr) if !addr.is_unspecified() => Some(format!(
            "ignoring IP-address ({ip}:{host_port}:{container}/{proto}) service will listen on '0.0.0.0'"
        )),
        _ => None,
    };
    let mut ports = Vec::new();
    for offset in 0..=(end - start) {
        let target = start + offset;
        let published: Vec<u32> = if host_port.is_empty() {
            vec![0]
        } else if start == end {
            (host_start..=host_end).collect()
        } else {
            vec![host_start + offset]
        };
        for published in published {
            ports.push(PortConfig {
                target,
                published,
                protocol: proto.clone(),
                mode: "ingress".into(),
            });
        }
    }
    Ok((ports, warning))
}

/// `PORT` or `START-END`, as go-connections' `ParsePortRange`.
fn port_range(text: &str) -> Result<(u32, u32), ()> {
    let parse = |t: &str| t.parse::<u16>().map(u32::from).map_err(|_| ());
    match text.split_once('-') {
        None => parse(text).map(|p| (p, p)),
        Some((a, b)) => {
            let b = b.split('-').next().unwrap_or(b);
            let (a, b) = (parse(a)?, parse(b)?);
            if b < a { Err(()) } else { Ok((a, b)) }
        }
    }
}

/// A volume in the short syntax, as the docker CLI's `ParseVolume`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeSpec {
    pub kind: String,
    pub source: String,
    pub target: String,
    pub read_only: bool,
    pub nocopy: bool,
    pub propagation: Option<String>,
}

/// `[SOURCE:]TARGET[:OPTIONS]`, OPTIONS a comma list of `ro`, `rw`, `nocopy` and bind
/// propagations; a source starting with `.`, `/` or `~` (or a Windows path) is a bind mount.
pub fn parse_volume_spec(spec: &str) -> Result<VolumeSpec, String> {
    let mut volume = VolumeSpec::default();
    let chars: Vec<char> = spec.chars().collect();
    match chars.len() {
        0 => return Err("invalid empty volume spec".into()),
        1 | 2 => {
            volume.target = spec.to_string();
            volume.kind = "volume".into();
            return Ok(volume);
        }
        _ => {}
    }
    let mut buffer: Vec<char> = Vec::new();
    let mut fields = 0;
    let with_end = chars.iter().copied().map(Some).chain(std::iter::once(None));
    for c in with_end {
        let windows_drive = c == Some(':') && buffer.len() == 1 && buffer[0].is_alphabetic();
        if windows_drive {
            buffer.push(':');
            continue;
        }
        if c == Some(':') || c.is_none() {
            let text: String = buffer.iter().collect();
            if buffer.is_empty() {
                return Err(format!(
                    "invalid spec: {spec}: empty section between colons"
                ));
            }
            if volume.source.is_empty() && c.is_none() && fields == 0 {
                volume.target = text;
            } else if fields == 0 {
                volume.source = text;
            } else if fields == 1 {
                volume.target = text;
            } else if c == Some(':') {
                return Err(format!("invalid spec: {spec}: too many colons"));
            } else {
                for option in text.split(',') {
                    match option {
                        "ro" => volume.read_only = true,
                        "rw" => volume.read_only = false,
                        "nocopy" => volume.nocopy = true,
                        "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" => {
                            volume.propagation = Some(option.to_string())
                        }
                        _ => {}
                    }
                }
            }
            fields += 1;
            buffer.clear();
        } else if let Some(c) = c {
            buffer.push(c);
        }
    }
    volume.kind = if volume.source.is_empty() || !is_file_path(&volume.source) {
        "volume".into()
    } else {
        "bind".into()
    };
    Ok(volume)
}

fn is_file_path(source: &str) -> bool {
    let mut chars = source.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if matches!(first, '.' | '/' | '~') {
        return true;
    }
    if source.chars().count() == 1 {
        return false;
    }
    if source.starts_with("\\\\") {
        return true;
    }
    first.is_alphabetic() && chars.next() == Some(':')
}

/// `restart:` as the docker CLI's `ParseRestartPolicy`: (condition, max attempts).
pub fn parse_restart(restart: &str) -> Result<Option<(&'static str, Option<u64>)>, String> {
    let (name, count) = match restart.split_once(':') {
        Some((name, count)) => (name, Some(count)),
        None => (restart, None),
    };
    match name {
        "" | "no" => {
            if count.is_some() {
                return Err("maximum retry count cannot be used with restart policy 'no'".into());
            }
            Ok(None)
        }
        "always" | "unless-stopped" => {
            if count.is_some() {
                return Err(format!(
                    "maximum retry count cannot be used with restart policy '{name}'"
                ));
            }
            Ok(Some(("any", None)))
        }
        "on-failure" => {
            let attempts = match count {
                None => 0,
                Some(c) => c
                    .parse::<i64>()
                    .map_err(|_| format!("invalid restart policy format: maximum retry count must be an integer: '{c}'"))?
                    .max(0) as u64,
            };
            Ok(Some(("on-failure", Some(attempts))))
        }
        _ => Err(format!("invalid restart policy '{name}'")),
    }
}

/// An image reference made complete as the Engine API client does before creating a
/// service: a tag `latest` when there is neither tag nor digest, in its familiar form
/// (`nginx:latest`, not `docker.io/library/nginx:latest`). None when it is not a reference.
pub fn image_with_tag(image: &str) -> Option<String> {
    let (repo, tag, digest) = split_reference(image);
    check_reference(repo, tag, digest).ok()?;
    let familiar = familiar_name(repo);
    Some(match (tag, digest) {
        (Some(tag), Some(digest)) => format!("{familiar}:{tag}@{digest}"),
        (Some(tag), None) => format!("{familiar}:{tag}"),
        (None, Some(digest)) => format!("{familiar}@{digest}"),
        (None, None) => format!("{familiar}:latest"),
    })
}

/// Why `image` is not a valid reference, as the docker CLI checks it before deploying.
pub fn check_image(image: &str) -> Result<(), String> {
    let (repo, tag, digest) = split_reference(image);
    // A bare 64-hex ID is a valid "any reference" too.
    if digest.is_none()
        && tag.is_none()
        && repo.len() == 64
        && repo.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Ok(());
    }
    check_reference(repo, tag, digest)
}

/// (repository, tag, digest) of an image reference, as written.
fn split_reference(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(i) => (
            &name[..last_slash + i],
            Some(&name[last_slash + i + 1..]),
            digest,
        ),
        None => (name, None, digest),
    }
}

fn check_reference(repo: &str, tag: Option<&str>, digest: Option<&str>) -> Result<(), String> {
    if repo.is_empty() {
        return Err("invalid reference format".into());
    }
    let (domain, path) = split_domain(repo);
    if let Some(domain) = domain
        && (domain.is_empty() || domain.chars().any(|c| c.is_whitespace() || c == '/'))
    {
        return Err("invalid reference format".into());
    }
    for component in path.split('/') {
        let ok = !component.is_empty()
            && component.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
            && component.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && component.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !ok {
            if component.chars().any(|c| c.is_ascii_uppercase()) {
                return Err(
                    "invalid reference format: repository name (library/".to_string()
                        + component
                        + ") must be lowercase",
                );
            }
            return Err("invalid reference format".into());
        }
    }
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            return Err("invalid reference format".into());
        }
    }
    if let Some(digest) = digest {
        let ok = digest
            .split_once(':')
            .is_some_and(|(algo, hex)| !algo.is_empty() && hex.len() >= 32);
        if !ok {
            return Err("invalid reference format".into());
        }
    }
    Ok(())
}

/// (registry, path) of a repository name; the registry is the first component when it looks
/// like a host (has `.` or `:`, or is `localhost`, or has uppercase letters).
fn split_domain(repo: &str) -> (Option<&str>, &str) {
    match repo.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, repo),
    }
}

/// The familiar form of a repository: Docker Hub's registry and `library/` left out.
fn familiar_name(repo: &str) -> String {
    let (domain, path) = split_domain(repo);
    match domain {
        Some("docker.io" | "index.docker.io") | None => path
            .strip_prefix("library/")
            .filter(|rest| !rest.contains('/'))
            .unwrap_or(path)
            .to_string(),
        Some(domain) => format!("{domain}/{path}"),
    }
}

/// The lines of an `env_file`, as the docker CLI's `ParseEnvFile`: `KEY=VALUE` as written,
/// `KEY` alone takes its value from `lookup` when it has one; blank lines and `#` comments are
/// skipped.
pub fn parse_env_file(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, Option<String>)>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut vars = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (line, None),
        };
        let name = name.trim_start();
        if name.is_empty() {
            return Err(format!(
                "line {}: no variable name on line '{line}'",
                number + 1
            ));
        }
        if name.contains(char::is_whitespace) {
            return Err(format!(
                "line {}: variable '{name}' contains whitespaces",
                number + 1
            ));
        }
        let value = value.or_else(|| lookup(name));
        vars.push((name.to_string(), value));
    }
    Ok(vars)
}

/// A decimal number without sign: its integer part and up to `max_fraction_digits` digits of its
/// fraction (further digits are dropped, as docker's float conversion truncates).
fn parse_decimal(text: &str, max_fraction_digits: u32) -> Option<(u128, u128, u32)> {
    let (integer, fraction) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if (integer.is_empty() && fraction.is_empty()) || !all_digits(integer) || !all_digits(fraction)
    {
        return None;
    }
    let integer = integer.trim_start_matches('0');
    let integer_value = if integer.is_empty() {
        0
    } else {
        integer.parse::<u128>().ok()?
    };
    let kept_fraction = &fraction[..fraction.len().min(max_fraction_digits as usize)];
    let fraction_value = if kept_fraction.is_empty() {
        0
    } else {
        kept_fraction.parse::<u128>().ok()?
    };
    // `kept_fraction` has at most `max_fraction_digits` ASCII digits, so this cannot truncate.
    Some((integer_value, fraction_value, kept_fraction.len() as u32))
}

/// `cpus`: `"0.5"`, `"2"` or a number, in nano CPUs (0.5 → 500_000_000).
pub fn parse_nano_cpus(text: &str) -> Result<i64, String> {
    const NANOS_PER_CPU: u128 = 1_000_000_000;
    const EXPECTED: &str = "write a number of CPUs such as 0.5 or 2";
    let (integer, fraction, fraction_digits) = parse_decimal(text.trim(), 9)
        .ok_or_else(|| format!("it is not a number of CPUs; {EXPECTED}"))?;
    let nanos = integer
        .checked_mul(NANOS_PER_CPU)
        .and_then(|nanos| nanos.checked_add(fraction * 10u128.pow(9 - fraction_digits)))
        .and_then(|nanos| i64::try_from(nanos).ok())
        .ok_or_else(|| format!("it is too large; {EXPECTED}"))?;
    Ok(nanos)
}

/// `memory`: bytes, or a number with a unit `b`, `k`, `m`, `g`, `t` or `p` (any case, binary
/// multiples, optionally followed by `i` and/or `b`: `512M`, `1.5g`, `100kb`, `2GiB`), as docker
/// reads it.
pub fn parse_memory_bytes(text: &str) -> Result<i64, String> {
    const EXPECTED: &str =
        "write bytes or a number with a unit b, k, m or g (e.g. 512M, 1.5g, 100k)";
    let text = text.trim();
    let lowercase = text.to_ascii_lowercase();
    let mut rest = lowercase.as_str();
    rest = rest.strip_suffix('b').unwrap_or(rest);
    let mut multiplier: u128 = 1;
    if let Some(without_i) = rest.strip_suffix('i') {
        rest = without_i;
        // `i` only makes sense after a unit.
        if !rest.ends_with(['k', 'm', 'g', 't', 'p']) {
            return Err(format!("it is not an amount of memory; {EXPECTED}"));
        }
    }
    for (exponent, unit) in ['k', 'm', 'g', 't', 'p'].into_iter().enumerate() {
        if let Some(number) = rest.strip_suffix(unit) {
            rest = number;
            multiplier = 1024u128.pow(exponent as u32 + 1);
            break;
        }
    }
    let rest = rest.strip_suffix(' ').unwrap_or(rest);
    // Beyond 18 fraction digits, the rest is worth less than a byte (units are at most 2^50).
    let (integer, fraction, fraction_digits) = parse_decimal(rest, 18)
        .ok_or_else(|| format!("it is not an amount of memory; {EXPECTED}"))?;
    integer
        .checked_mul(multiplier)
        .and_then(|bytes| bytes.checked_add(fraction * multiplier / 10u128.pow(fraction_digits)))
        .and_then(|bytes| i64::try_from(bytes).ok())
        .ok_or_else(|| format!("it is too large; {EXPECTED}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(spec: &str) -> Vec<(u32, u32, String)> {
        parse_port_spec(spec)
            .expect("parses")
            .0
            .into_iter()
            .map(|p| (p.published, p.target, p.protocol))
            .collect()
    }

    #[test]
    fn ports_as_go_connections_reads_them() {
        assert_eq!(ports("80"), vec![(0, 80, "tcp".into())]);
        assert_eq!(ports("8080:80/udp"), vec![(8080, 80, "udp".into())]);
        assert_eq!(
            ports("8000-8001:80-81"),
            vec![(8000, 80, "tcp".into()), (8001, 81, "tcp".into())]
        );
        // A published range for one target: one port per published number.
        assert_eq!(
            ports("9000-9001:80"),
            vec![(9000, 80, "tcp".into()), (9001, 80, "tcp".into())]
        );
        let (_, warning) = parse_port_spec("127.0.0.1:5000:5000").expect("parses");
        assert_eq!(
            warning.as_deref(),
            Some("ignoring IP-address (127.0.0.1:5000:5000/tcp) service will listen on '0.0.0.0'")
        );
        assert!(parse_port_spec("80/xtp").is_err());
        assert!(parse_port_spec("8000-8002:80-81").is_err());
        assert!(parse_port_spec("70000").is_err());
    }

    #[test]
    fn volumes_as_the_cli_reads_them() {
        let v = parse_volume_spec("data:/var/lib/data:ro,nocopy").expect("parses");
        assert_eq!(
            (
                v.kind.as_str(),
                v.source.as_str(),
                v.target.as_str(),
                v.read_only,
                v.nocopy
            ),
            ("volume", "data", "/var/lib/data", true, true)
        );
        let v = parse_volume_spec("./conf:/etc/app:rshared").expect("parses");
        assert_eq!(v.kind, "bind");
        assert_eq!(v.propagation.as_deref(), Some("rshared"));
        let v = parse_volume_spec("/tmp").expect("parses");
        assert_eq!((v.kind.as_str(), v.target.as_str()), ("volume", "/tmp"));
        let v = parse_volume_spec("C:\\data:/data").expect("parses");
        assert_eq!((v.kind.as_str(), v.source.as_str()), ("bind", "C:\\data"));
        assert!(parse_volume_spec("ab:cd:ef:gh").is_err());
        assert!(parse_volume_spec("ab::cd").is_err());
    }

    #[test]
    fn durations_as_go_reads_them() {
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("300ms"), Ok(300_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10x").is_err());
    }

    #[test]
    fn images_get_a_tag_in_their_familiar_form() {
        assert_eq!(image_with_tag("nginx").as_deref(), Some("nginx:latest"));
        assert_eq!(
            image_with_tag("docker.io/library/redis:7").as_deref(),
            Some("redis:7")
        );
        assert_eq!(
            image_with_tag("localhost:5000/app").as_deref(),
            Some("localhost:5000/app:latest")
        );
        assert!(check_image("Nginx").is_err());
        assert!(check_image("nginx:").is_err());
    }

    #[test]
    fn restart_policies_and_amounts() {
        assert_eq!(parse_restart("always"), Ok(Some(("any", None))));
        assert_eq!(
            parse_restart("on-failure:3"),
            Ok(Some(("on-failure", Some(3))))
        );
        assert_eq!(parse_restart("no"), Ok(None));
        assert!(parse_restart("sometimes").is_err());
        assert_eq!(parse_nano_cpus("0.5"), Ok(500_000_000));
        assert_eq!(parse_memory_bytes("512M"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_memory_bytes("1.5g"), Ok(1_610_612_736));
    }
}
