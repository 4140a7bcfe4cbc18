//! Kubernetes resource quantities, as far as scheduling needs them: CPU in millicores, memory in
//! bytes.

/// CPU ("250m", "0.5", "2") in millicores; `None` when unparseable.
pub fn cpu_millis(q: &str) -> Option<i64> {
    let q = q.trim();
    if let Some(m) = q.strip_suffix('m') {
        return m.parse().ok();
    }
    q.parse::<f64>().ok().map(|c| (c * 1000.0).round() as i64)
}

/// Memory ("128Mi", "1Gi", "500M", "1024") in bytes; `None` when unparseable.
pub fn memory_bytes(q: &str) -> Option<i64> {
    let q = q.trim();
    const UNITS: [(&str, i64); 10] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("k", 1_000),
        ("K", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
        ("", 1),
    ];
    UNITS.iter().find_map(|(suffix, mult)| {
        let n = q.strip_suffix(suffix)?;
        n.parse::<f64>().ok().map(|v| (v * *mult as f64) as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse() {
        assert_eq!(cpu_millis("250m"), Some(250));
        assert_eq!(cpu_millis("0.5"), Some(500));
        assert_eq!(cpu_millis("2"), Some(2000));
        assert_eq!(memory_bytes("128Mi"), Some(128 << 20));
        assert_eq!(memory_bytes("1Gi"), Some(1 << 30));
        assert_eq!(memory_bytes("500M"), Some(500_000_000));
        assert_eq!(memory_bytes("1024"), Some(1024));
        assert_eq!(cpu_millis("lots"), None);
    }
}
