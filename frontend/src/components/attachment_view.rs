//! A file shared in a message: a thumbnail for the images the server shows
//! inline, a card with name, size and a download link for everything else.
//!
//! A conversation's files are readable only by its two people. A signed-in
//! browser's `<img>` and links carry its session cookie, as in rooms; a
//! guest's carry nothing, so for a guest the file is fetched with its bearer
//! token (`api::object_url`) and shown from an object URL, or saved from one.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use shared::Attachment;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::actions::use_chat_actions;
use crate::api;
use crate::filesize::human_size;

#[derive(Properties, PartialEq)]
pub struct AttachmentViewProps {
    pub attachment: Attachment,
    /// Shared in a conversation of two, whose files need credentials.
    #[prop_or_default]
    pub direct: bool,
}

/// The file's name is the uploader's text: it is only ever a text node or an
/// attribute value. Only ids the server could have made become addresses.
#[component]
pub fn AttachmentView(props: &AttachmentViewProps) -> Html {
    let file = &props.attachment;
    let plain = is_plain_id(&file.id);
    let bearer = use_chat_actions().bearer.filter(|_| props.direct && plain);
    let image = plain && file.is_previewable();
    // With a bearer token: the image's object URL once fetched, or why the
    // file (image or download) could not be fetched.
    let fetched = use_state(|| None::<Result<AttrValue, String>>);
    {
        let fetched = fetched.clone();
        let wanted = bearer.clone().filter(|_| image);
        use_effect_with((file.preview_path(), wanted), move |(path, bearer)| {
            let made: Rc<RefCell<Option<String>>> = Rc::default();
            let alive = Rc::new(Cell::new(true));
            if let Some(bearer) = bearer.clone() {
                let (path, made, alive) = (path.clone(), Rc::clone(&made), Rc::clone(&alive));
                spawn_local(async move {
                    let result = api::object_url(&path, Some(&bearer)).await;
                    match &result {
                        Ok(url) if !alive.get() => return api::revoke(url),
                        Ok(url) => *made.borrow_mut() = Some(url.clone()),
                        Err(_) => {}
                    }
                    fetched.set(Some(result.map(AttrValue::from)));
                });
            }
            move || {
                alive.set(false);
                if let Some(url) = made.borrow_mut().take() {
                    api::revoke(&url);
                }
            }
        });
    }
    // A guest's download: fetched with the token, then saved.
    let save_with_token = bearer.map(|bearer| {
        let (path, name, fetched) = (file.download_path(), file.name.clone(), fetched.clone());
        Callback::from(move |e: MouseEvent| {
            e.prevent_default();
            let (path, name, bearer, fetched) =
                (path.clone(), name.clone(), bearer.clone(), fetched.clone());
            spawn_local(async move {
                match api::object_url(&path, Some(&bearer)).await {
                    Ok(url) => {
                        save(&url, &name);
                        // Long enough for the browser to have taken it.
                        Timeout::new(60_000, move || api::revoke(&url)).forget();
                    }
                    Err(why) => fetched.set(Some(Err(why))),
                }
            });
        })
    });
    let guarded = save_with_token.is_some();

    let name = file.name.clone();
    let size = human_size(file.size);
    let download = plain.then(|| {
        html! {
            <a
                class="file-card__download"
                href={file.download_path()}
                download={name.clone()}
                aria-label={format!("Download {name} ({size})")}
                data-testid="attachment-download"
                onclick={save_with_token}
            >
                { "Download" }
            </a>
        }
    });
    let src = match &*fetched {
        Some(Ok(url)) => Some(url.clone()),
        _ if !guarded => Some(AttrValue::from(file.preview_path())),
        _ => None,
    };
    if let (true, Some(src)) = (image, src) {
        return html! {
            <div class="attachment" data-testid="attachment-image">
                <a
                    class="attachment__open"
                    href={src.clone()}
                    target="_blank"
                    rel="noopener noreferrer"
                    title="Open full size"
                >
                    <img class="attachment__thumb" {src} alt={name.clone()} loading="lazy" />
                </a>
                <span class="attachment__meta">
                    <span class="attachment__name">{ name }</span>
                    <span class="file-card__size">{ size }</span>
                    { download }
                </span>
            </div>
        };
    }
    let note = match &*fetched {
        _ if !plain => "not available".to_owned(),
        Some(Err(why)) => why.clone(),
        None if image && guarded => "loading…".to_owned(),
        _ => size,
    };
    html! {
        <div class="file-card" data-testid="attachment-file">
            <span class="file-card__icon" aria-hidden="true">{ badge(&name) }</span>
            <span class="file-card__info">
                <span class="file-card__name">{ name }</span>
                <span class="file-card__size">{ note }</span>
            </span>
            { download }
        </div>
    }
}

/// Saves the file at an object URL under `name`, as a download link would.
fn save(url: &str, name: &str) {
    let link = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("a").ok());
    if let Some(link) = link {
        let _ = link.set_attribute("href", url);
        let _ = link.set_attribute("download", name);
        if let Ok(link) = link.dyn_into::<HtmlElement>() {
            link.click();
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
