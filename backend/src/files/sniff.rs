//! The media type of an upload, from its first bytes. Only the image types
//! shown inline ([`shared::protocol::PREVIEW_TYPES`]) are recognized, each by
//! its magic bytes; everything else, whatever its name or the type its
//! uploader claimed, is `application/octet-stream` and is only ever served
//! as a download. SVG is text that can carry scripts, so it is never an image
//! here.

/// The type of everything that is not a verified image.
pub const OCTET_STREAM: &str = "application/octet-stream";
/// How many leading bytes [`media_type`] needs.
pub const HEAD_BYTES: usize = 12;

/// The media type of a file that starts with `head`.
pub fn media_type(head: &[u8]) -> &'static str {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if head.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg"
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        "image/gif"
    } else if head.len() >= HEAD_BYTES && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        "image/webp"
    } else {
        OCTET_STREAM
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::PREVIEW_TYPES;

    #[test]
    fn images_are_known_by_their_magic_bytes() {
        let cases: [(&[u8], &str); 5] = [
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
            (&[0xff, 0xd8, 0xff, 0xe0, 0, 0x10], "image/jpeg"),
            (b"GIF89a\x01\0\x01\0", "image/gif"),
            (b"GIF87a", "image/gif"),
            (b"RIFF\x24\0\0\0WEBPVP8 ", "image/webp"),
        ];
        for (head, expected) in cases {
            assert_eq!(media_type(head), expected);
            assert!(PREVIEW_TYPES.contains(&expected));
        }
    }

    #[test]
    fn everything_else_is_a_download() {
        for head in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\">"[..],
            b"<!DOCTYPE html><script>",
            b"%PDF-1.7",
            b"RIFF\x24\0\0\0WAVEfmt ",
            b"RIFF",
            b"\x89PN",
            b"",
        ] {
            assert_eq!(media_type(head), OCTET_STREAM, "{head:?}");
        }
    }
}
