//! Search results, unread and mention badges, and mentions in messages.

use frontend::actions::ChatActions;
use frontend::components::{MessageView, RoomList, RoomListProps, RoomTab, search_bar};
use frontend::state::Search;
use shared::MessageKind;
use shared::protocol::SearchHit;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::HtmlElement;
use yew::prelude::*;

use crate::support::{NOON, all, message, mount, mount_with, one, recording, settle, text, view};

#[derive(Properties, PartialEq)]
struct BarProps {
    actions: ChatActions,
    search: Option<Search>,
}

/// The top bar's search as `App` renders it. The page has one: the
/// searches of earlier tests go first.
async fn mount_bar(props: BarProps) -> (web_sys::Element, yew::AppHandle<Bar>) {
    for old in all(&crate::support::document().body().unwrap(), ".search") {
        old.remove();
    }
    mount::<Bar>(props).await
}

/// The top bar's search as `App` renders it.
#[component]
fn Bar(props: &BarProps) -> Html {
    search_bar(props.search.as_ref(), Some("alice"), &props.actions)
}

fn hit(room: &str, seq: u64, snippet: &[&str]) -> SearchHit {
    SearchHit {
        room: room.into(),
        seq,
        ts: NOON,
        nick: "bob".into(),
        snippet: snippet.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[wasm_bindgen_test]
async fn search_results_mark_the_matched_words_and_a_click_jumps_to_the_message() {
    let (actions, jumps) = recording(|a| &mut a.jump);
    let search = Search {
        q: "release".into(),
        room: None,
        hits: vec![
            hit("rust", 41, &["the ", "release", " notes <b>are</b> out"]),
            hit("@alice+bob", 7, &["", "Release", " day"]),
        ],
        next: Some(7),
        busy: false,
    };
    let (root, _app) = mount_bar(BarProps {
        actions,
        search: Some(search),
    })
    .await;
    let hits = all(&root, "[data-testid=search-hit]");
    assert_eq!(hits.len(), 2);
    let marks: Vec<String> = all(&root, "[data-testid=search-hit] mark")
        .iter()
        .map(text)
        .collect();
    assert_eq!(marks, ["release", "Release"]);
    assert!(text(&hits[0]).contains("the release notes <b>are</b> out"));
    assert!(all(&hits[0], "b").is_empty(), "text stays text");
    assert!(text(&hits[0]).contains("#rust"));
    assert!(
        text(&hits[1]).contains("bob"),
        "a conversation by its person"
    );
    assert_eq!(all(&root, "[data-testid=search-more]").len(), 1);

    hits[1].clone().unchecked_into::<HtmlElement>().click();
    settle().await;
    assert_eq!(*jumps.borrow(), [("@alice+bob".to_owned(), 7)]);
}

#[wasm_bindgen_test]
async fn searching_sends_the_words_and_escape_closes() {
    use frontend::actions::SearchAsk;
    let (actions, asked) = recording(|a| &mut a.search);
    let search = Search {
        q: "x".into(),
        room: Some("lobby".into()),
        hits: vec![],
        next: None,
        busy: false,
    };
    let (root, _app) = mount_bar(BarProps {
        actions,
        search: Some(search),
    })
    .await;
    assert!(text(&root).contains("No messages found."));
    let input: web_sys::HtmlInputElement =
        one(&root, "[data-testid=search-input]").unchecked_into();
    input.set_value("release notes");
    let form: web_sys::HtmlFormElement = one(&root, "form").unchecked_into();
    form.request_submit().unwrap();
    settle().await;
    let escape = web_sys::KeyboardEventInit::new();
    escape.set_key("Escape");
    escape.set_bubbles(true);
    let event =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &escape).unwrap();
    input.dispatch_event(&event).unwrap();
    settle().await;
    assert_eq!(
        *asked.borrow(),
        [
            SearchAsk::Find {
                q: "release notes".into(),
                all: false
            },
            SearchAsk::Close
        ]
    );
}

#[wasm_bindgen_test]
async fn rooms_show_unread_and_mention_badges() {
    let (actions, _) = recording(|a| &mut a.switch_room);
    let (root, _app) = mount_with::<RoomList>(
        &actions,
        RoomListProps {
            rooms: vec![
                RoomTab::room("lobby", 0),
                RoomTab {
                    mentions: 2,
                    ..RoomTab::room("rust", 5)
                },
                RoomTab::room("go", 1_000),
            ],
            active: "lobby".into(),
            directory: None,
        },
    )
    .await;
    let rust = one(&root, "[data-room=rust]");
    assert_eq!(text(&one(&rust, "[data-testid=unread]")), "5");
    assert_eq!(text(&one(&rust, "[data-testid=mentions]")), "@2");
    assert_eq!(
        rust.get_attribute("aria-label").as_deref(),
        Some("#rust, 5 unread, 2 mentioning you")
    );
    let go = one(&root, "[data-room=go]");
    assert_eq!(text(&one(&go, "[data-testid=unread]")), "1000");
    assert!(all(&go, "[data-testid=mentions]").is_empty());
    assert!(all(&one(&root, "[data-room=lobby]"), ".room__unread").is_empty());
}

#[wasm_bindgen_test]
async fn mentions_stand_out_and_one_of_me_marks_the_message() {
    let mut props = view(message(
        3,
        "bob",
        "@Alice see (@carol) and mail alice@example.org",
        MessageKind::Text,
    ));
    props.me = Some("alice".into());
    let (root, _app) = mount::<MessageView>(props).await;
    let msg = one(&root, "[data-testid=message]");
    assert!(msg.class_list().contains("msg--mention"));
    let mentions: Vec<(String, bool)> = all(&root, ".mention")
        .iter()
        .map(|m| (text(m), m.class_list().contains("mention--me")))
        .collect();
    assert_eq!(
        mentions,
        [("@Alice".to_owned(), true), ("@carol".to_owned(), false)]
    );
    assert!(text(&msg).contains("@Alice see (@carol) and mail alice@example.org"));

    let mut other = view(message(4, "bob", "hi @carol", MessageKind::Text));
    other.me = Some("alice".into());
    let (root, _app) = mount::<MessageView>(other).await;
    assert!(
        !one(&root, "[data-testid=message]")
            .class_list()
            .contains("msg--mention")
    );
}

#[wasm_bindgen_test]
async fn what_was_typed_stays_when_the_results_open() {
    let (actions, _) = recording(|a| &mut a.search);
    let closed = BarProps {
        actions: actions.clone(),
        search: None,
    };
    let (root, app) = mount_bar(closed).await;
    let input: web_sys::HtmlInputElement =
        one(&root, "[data-testid=search-input]").unchecked_into();
    input.set_value("release");
    let mut app = app;
    app.update(BarProps {
        actions,
        search: Some(Search {
            q: "release".into(),
            room: None,
            hits: vec![hit("rust", 41, &["the ", "release", ""])],
            next: None,
            busy: false,
        }),
    });
    settle().await;
    let now: web_sys::HtmlInputElement = one(&root, "[data-testid=search-input]").unchecked_into();
    assert_eq!(now.value(), "release");
}
