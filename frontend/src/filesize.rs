//! File sizes for people: `512 B`, `47.1 KB`, `25.0 MB`.

const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];

/// A size in bytes with one decimal in the largest unit (of 1,024) that keeps
/// it at or above 1; plain bytes below 1 KB.
pub fn human_size(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Rounded to tenths first, so that 1,048,575 bytes reads `1.0 MB`, not
    // `1024.0 KB`. In u64 without overflow (no u128: its division routine
    // costs bundle size).
    let mut tenths = bytes / 1024 * 10 + (bytes % 1024 * 10 + 512) / 1024;
    let mut unit = 0;
    while tenths >= 10 * 1024 && unit + 1 < UNITS.len() {
        tenths = (tenths + 512) / 1024;
        unit += 1;
    }
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_the_largest_fitting_unit_with_one_decimal() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1), "1 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KB");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(48_213), "47.1 KB");
        assert_eq!(human_size(1_048_575), "1.0 MB");
        assert_eq!(human_size(25 * 1024 * 1024), "25.0 MB");
        assert_eq!(human_size(3_221_225_472), "3.0 GB");
        assert_eq!(human_size(u64::MAX), "16777216.0 TB");
    }
}
