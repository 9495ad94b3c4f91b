//! An HTTP `Range` header against a file of some size: a range it serves
//! lies within the file and is not empty, and without a header the whole
//! file is sent.

#![no_main]

use backend::fuzzing::{Part, range_part};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((size, header)) = data.split_first_chunk::<9>() else {
        return;
    };
    let [shift, size @ ..] = size;
    // Sizes of every magnitude, zero and u64::MAX included.
    let size = u64::from_le_bytes(*size) >> (shift % 65).min(63);
    let size = if shift % 65 == 64 { 0 } else { size };
    // Header values reach the parser as text (`HeaderValue::to_str`).
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    assert_eq!(range_part(None, size), Part::Whole);
    match range_part(Some(header), size) {
        Part::Range { start, end } => {
            assert!(start <= end, "{header:?} of {size}: {start}..={end}");
            assert!(end < size, "{header:?} of {size}: {start}..={end}");
        }
        Part::Unsatisfiable | Part::Whole => {}
    }
});
