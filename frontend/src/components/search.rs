//! Search, in the top bar: the box (the words, whether to search every
//! room or the one on screen; Enter searches through
//! `ChatActions::search`) and, while a search is open, its results below
//! it, newest first: where and when each message was posted, who wrote it,
//! and the words around the match with the matched ones in `<mark>`. A
//! click shows the message in its room (`ChatActions::jump`); "More
//! results" asks for the next page; Escape or the close button closes the
//! results.

use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::actions::{ChatActions, SearchAsk};
use crate::clock::{day_label, hh_mm, local_day, local_offset_minutes};
use crate::state::{Search as Found, room_label};

/// The search box and, while a search is open, its results. A view
/// function of `App`'s rather than a component: a component's own code
/// would cost the bundle more than this does.
pub fn search_bar(search: Option<&Found>, me: Option<&str>, actions: &ChatActions) -> Html {
    let onsubmit = actions.search.reform(|e: SubmitEvent| {
        e.prevent_default();
        SearchAsk::Find {
            q: field("search-q").map(|el| el.value()).unwrap_or_default(),
            all: field("search-all").is_some_and(|el| el.checked()),
        }
    });
    let onkeydown = {
        let search = actions.search.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                search.emit(SearchAsk::Close);
            }
        })
    };
    let panel = search.map(|search| results(search, me, actions));
    html! {
        <div class="search" {onkeydown}>
            <form class="search__form" role="search" {onsubmit} novalidate=true>
                <input
                    id="search-q"
                    class="search__input"
                    data-testid="search-input"
                    type="search"
                    aria-label="Search messages"
                    placeholder="Search"
                    autocomplete="off"
                />
                <label class="search__all" title="Search every room you are in">
                    <input id="search-all" type="checkbox" data-testid="search-all" />
                    { "all rooms" }
                </label>
            </form>
            // One node whether open or not: Yew matches unkeyed children
            // from the end, and a node appearing after the form would
            // replace it, losing what was typed.
            if let Some(panel) = panel {
                { panel }
            }
        </div>
    }
}

/// One of the search box's inputs.
fn field(id: &str) -> Option<HtmlInputElement> {
    web_sys::window()?
        .document()?
        .get_element_by_id(id)?
        .dyn_into()
        .ok()
}

/// The results panel.
fn results(search: &Found, me: Option<&str>, actions: &ChatActions) -> Html {
    let close = actions.search.reform(|_: MouseEvent| SearchAsk::Close);
    let now = js_sys::Date::now() as i64;
    let today = local_day(now, local_offset_minutes(now));
    let hits = search.hits.iter().map(|hit| {
        let offset = local_offset_minutes(hit.ts);
        let when = format!(
            "{} {}",
            day_label(local_day(hit.ts, offset), today),
            hh_mm(hit.ts, offset)
        );
        let (room, seq) = (hit.room.clone(), hit.seq);
        let onclick = actions
            .jump
            .reform(move |_: MouseEvent| (room.clone(), seq));
        html! {
            <li key={format!("{}#{}", hit.room, hit.seq)}>
                <button
                    type="button"
                    class="hit"
                    data-testid="search-hit"
                    data-room={hit.room.clone()}
                    data-seq={hit.seq.to_string()}
                    {onclick}
                >
                    <span class="hit__head">
                        <span class="hit__room">{ room_label(&hit.room, me) }</span>
                        <span class="hit__nick">{ hit.nick.clone() }</span>
                        <span class="hit__time">{ when }</span>
                    </span>
                    <span class="hit__text">
                        { for hit.snippet.iter().enumerate().map(|(i, piece)| if i % 2 == 1 {
                            html! { <mark>{ piece.clone() }</mark> }
                        } else {
                            html! { { piece.clone() } }
                        }) }
                    </span>
                </button>
            </li>
        }
    });
    let more = search.next.filter(|_| !search.busy).map(|before| {
        let (q, room) = (search.q.clone(), search.room.clone());
        let onclick = actions.search.reform(move |_: MouseEvent| SearchAsk::More {
            q: q.clone(),
            room: room.clone(),
            before,
        });
        html! {
            <button type="button" class="link-button" data-testid="search-more" {onclick}>
                { "More results" }
            </button>
        }
    });
    let scope = match &search.room {
        Some(room) => room_label(room, me),
        None => "all rooms".to_owned(),
    };
    html! {
        <section class="search-panel" data-testid="search-panel" aria-label="Search results">
            <div class="search-panel__head">
                <h2 class="side__title">{ format!("“{}” in {scope}", search.q) }</h2>
                <button
                    type="button"
                    class="search-panel__close"
                    data-testid="search-close"
                    aria-label="Close the results"
                    onclick={close}
                >
                    { "×" }
                </button>
            </div>
            <ol class="search-panel__list" data-testid="search-results">
                { for hits }
            </ol>
            if search.busy {
                <p class="search-panel__note" aria-busy="true">{ "Searching…" }</p>
            } else if search.hits.is_empty() {
                <p class="search-panel__note">{ "No messages found." }</p>
            }
            { more }
        </section>
    }
}
