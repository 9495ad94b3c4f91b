//! A file shared in a message: a thumbnail for the images the server shows
//! inline, a card with name, size and a download link for everything else.

use shared::Attachment;
use yew::prelude::*;

use crate::filesize::human_size;

#[derive(Properties, PartialEq)]
pub struct AttachmentViewProps {
    pub attachment: Attachment,
}

/// The file's name is the uploader's text: it is only ever a text node or an
/// attribute value. Only ids the server could have made become addresses.
#[component]
pub fn AttachmentView(props: &AttachmentViewProps) -> Html {
    let file = &props.attachment;
    let name = file.name.clone();
    let size = human_size(file.size);
    if !is_plain_id(&file.id) {
        return html! {
            <div class="file-card" data-testid="attachment-file">
                <span class="file-card__icon" aria-hidden="true">{ badge(&name) }</span>
                <span class="file-card__info">
                    <span class="file-card__name">{ name }</span>
                    <span class="file-card__size">{ "not available" }</span>
                </span>
            </div>
        };
    }
    let download = html! {
        <a
            class="file-card__download"
            href={file.download_path()}
            download={name.clone()}
            aria-label={format!("Download {name} ({size})")}
            data-testid="attachment-download"
        >
            { "Download" }
        </a>
    };
    if file.is_previewable() {
        let preview = file.preview_path();
        html! {
            <div class="attachment" data-testid="attachment-image">
                <a
                    class="attachment__open"
                    href={preview.clone()}
                    target="_blank"
                    rel="noopener noreferrer"
                    title="Open full size"
                >
                    <img class="attachment__thumb" src={preview} alt={name.clone()} loading="lazy" />
                </a>
                <span class="attachment__meta">
                    <span class="attachment__name">{ name }</span>
                    <span class="file-card__size">{ size }</span>
                    { download }
                </span>
            </div>
        }
    } else {
        html! {
            <div class="file-card" data-testid="attachment-file">
                <span class="file-card__icon" aria-hidden="true">{ badge(&name) }</span>
                <span class="file-card__info">
                    <span class="file-card__name">{ name }</span>
                    <span class="file-card__size">{ size }</span>
                </span>
                { download }
            </div>
        }
    }
}

/// Whether an id is one the server makes (letters, digits, `-`, `_`): it
/// goes into a path, where `/`, `?` or `..` would point somewhere else.
pub fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The card's badge: the extension in capitals (`PDF`), or `FILE`.
pub fn badge(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=4).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            ext.to_ascii_uppercase()
        }
        _ => "FILE".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_show_short_extensions_only() {
        assert_eq!(badge("report.pdf"), "PDF");
        assert_eq!(badge("archive.tar.gz"), "GZ");
        assert_eq!(badge("notes"), "FILE");
        assert_eq!(badge(".bashrc"), "FILE");
        assert_eq!(badge("x.verylong"), "FILE");
        assert_eq!(badge("x.<b>"), "FILE");
    }

    #[test]
    fn only_plain_ids_become_addresses() {
        assert!(is_plain_id("3f2a9c0d41b6e8f7"));
        assert!(is_plain_id("01J-x_y"));
        assert!(!is_plain_id(""));
        assert!(!is_plain_id("../../ws"));
        assert!(!is_plain_id("a?b"));
        assert!(!is_plain_id("a/inline"));
    }
}
