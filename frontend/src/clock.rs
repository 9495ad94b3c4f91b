//! Message times for people: `14:05` in the browser's time zone, plus an
//! ISO 8601 form for `<time datetime>`. The calendar arithmetic is plain Rust
//! (tested natively); only the time-zone offset comes from the browser.

/// Minutes to add to UTC to get the browser's local time at `ts_ms`
/// (milliseconds since the Unix epoch). Zero outside the browser.
pub fn local_offset_minutes(ts_ms: i64) -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts_ms as f64));
        // JavaScript reports UTC minus local, in minutes.
        -(date.get_timezone_offset() as i64)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = ts_ms;
        0
    }
}

/// The wall-clock time `HH:MM` at `ts_ms`, shifted by `offset_minutes`.
pub fn hh_mm(ts_ms: i64, offset_minutes: i64) -> String {
    let t = Civil::from_ms(ts_ms + offset_minutes * 60_000);
    format!("{:02}:{:02}", t.hour, t.minute)
}

/// `2025-11-25T00:00:00Z`.
pub fn iso_utc(ts_ms: i64) -> String {
    let t = Civil::from_ms(ts_ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// The local calendar day of `ts_ms` as a day number (days since
/// 1970-01-01), for comparing days: two messages with the same number were
/// written on the same local date.
pub fn local_day(ts_ms: i64, offset_minutes: i64) -> i64 {
    (ts_ms + offset_minutes * 60_000).div_euclid(86_400_000)
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// What a day separator says for the local day `day`, seen on `today`:
/// `Today`, `Yesterday`, `Tuesday, 25 November` this year, and with the year
/// for other years.
pub fn day_label(day: i64, today: i64) -> String {
    if day == today {
        return "Today".to_owned();
    }
    if day + 1 == today {
        return "Yesterday".to_owned();
    }
    let date = Civil::from_ms(day * 86_400_000);
    let this_year = Civil::from_ms(today * 86_400_000).year;
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[(day + 3).rem_euclid(7) as usize];
    let month = MONTHS[(date.month as usize).saturating_sub(1) % 12];
    if date.year == this_year {
        format!("{weekday}, {} {month}", date.day)
    } else {
        format!("{weekday}, {} {month} {}", date.day, date.year)
    }
}

/// `14:05` today, `Thursday, 4 December 14:05` another day (local time).
pub fn local_time(at: i64, now: i64) -> String {
    let offset = local_offset_minutes(at);
    let (day, today) = (
        local_day(at, offset),
        local_day(now, local_offset_minutes(now)),
    );
    if day == today {
        hh_mm(at, offset)
    } else {
        format!("{} {}", day_label(day, today), hh_mm(at, offset))
    }
}

/// A proleptic Gregorian date and time of day.
#[derive(Debug, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Civil {
    fn from_ms(ts_ms: i64) -> Civil {
        let secs = ts_ms.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let of_day = secs.rem_euclid(86_400) as u32;
        // Howard Hinnant's civil_from_days: eras of 400 years starting in March.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day % 3600 / 60,
            second: of_day % 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(1_764_028_800_000), "2025-11-25T00:00:00Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(-1000), "1969-12-31T23:59:59Z");
        assert_eq!(iso_utc(1_709_210_096_789), "2024-02-29T12:34:56Z");
    }

    #[test]
    fn formats_the_clock_with_an_offset() {
        let ts = 1_709_210_096_789; // 12:34:56 UTC
        assert_eq!(hh_mm(ts, 0), "12:34");
        assert_eq!(hh_mm(ts, 60), "13:34");
        assert_eq!(hh_mm(ts, -13 * 60), "23:34");
        assert_eq!(hh_mm(ts, 5 * 60 + 30), "18:04");
    }

    #[test]
    fn days_follow_the_local_calendar() {
        let midnight = 1_764_028_800_000; // 2025-11-25T00:00:00Z, a Tuesday
        let day = local_day(midnight, 0);
        assert_eq!(local_day(midnight - 1, 0), day - 1);
        // At UTC-1 that instant is still the evening of the 24th.
        assert_eq!(local_day(midnight, -60), day - 1);
        assert_eq!(local_day(midnight + 30 * 60_000, 60), day);
        assert_eq!(local_day(-1, 0), -1);

        assert_eq!(day_label(day, day), "Today");
        assert_eq!(day_label(day - 1, day), "Yesterday");
        assert_eq!(day_label(day, day + 7), "Tuesday, 25 November");
        assert_eq!(day_label(day, day + 60), "Tuesday, 25 November 2025");
        assert_eq!(day_label(0, 1000), "Thursday, 1 January 1970");
    }

    #[test]
    fn native_builds_use_utc() {
        assert_eq!(local_offset_minutes(0), 0);
    }
}
