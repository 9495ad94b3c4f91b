//! The sidebar: the rooms and conversations with their unread badges, the
//! '+' that joins a room, and who is online.

use frontend::components::{OnlineList, OnlineListProps, RoomList, RoomListProps, RoomTab};
use frontend::state::Action;
use shared::{DEFAULT_ROOM, RoomInfo, ServerMsg};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{HtmlButtonElement, HtmlFormElement, HtmlInputElement};

use crate::support::{
    Provided, all, in_lobby, mount, mount_with, one, provided, recording, settle, text,
    unit_recorder,
};

#[wasm_bindgen_test]
async fn the_online_list_has_one_item_per_member() {
    let (root, _app) = mount::<OnlineList>(OnlineListProps {
        members: vec!["bob".into(), "alice".into()],
        me: Some("alice".into()),
        room: "lobby".into(),
        settings: Default::default(),
        direct: false,
    })
    .await;
    let items = all(&root, "[data-testid=online-list] li");
    let names: Vec<String> = items.iter().map(text).collect();
    assert_eq!(names, ["alice", "bob"]);
}

#[wasm_bindgen_test]
async fn the_room_list_marks_the_room_on_screen_and_unread_ones() {
    let (actions, selected) = recording(|a| &mut a.switch_room);
    let (root, _app) = mount_with::<RoomList>(
        &actions,
        RoomListProps {
            rooms: vec![RoomTab::room("lobby", 0), RoomTab::room("rust", 4)],
            active: "lobby".into(),
            directory: None,
        },
    )
    .await;
    let buttons = all(&root, "[data-testid=room-list] button");
    assert_eq!(buttons.len(), 2);
    assert_eq!(
        buttons[0].get_attribute("aria-current").as_deref(),
        Some("true")
    );
    assert_eq!(buttons[1].get_attribute("aria-current"), None);
    assert_eq!(
        buttons[1].get_attribute("aria-label").as_deref(),
        Some("#rust, 4 unread")
    );
    buttons[1]
        .clone()
        .unchecked_into::<HtmlButtonElement>()
        .click();
    settle().await;
    assert_eq!(*selected.borrow(), ["rust"]);
}

#[wasm_bindgen_test]
async fn rooms_and_conversations_show_unread_badges_and_switch() {
    let (actions, selected) = recording(|a| &mut a.switch_room);
    let props = |active: &str, rust_unread: u32| {
        provided::<RoomList>(
            &actions,
            RoomListProps {
                rooms: vec![
                    RoomTab::room("lobby", 0),
                    RoomTab::room("rust", rust_unread),
                    RoomTab {
                        name: "@alice+bob".into(),
                        label: "bob".into(),
                        direct: true,
                        unread: 2,
                        mentions: 0,
                    },
                ],
                active: active.to_owned().into(),
                directory: None,
            },
        )
    };
    let (root, mut app) = mount::<Provided>(props("lobby", 3)).await;
    let rooms = all(&root, "[data-testid=room-list] [data-room]");
    let names: Vec<String> = rooms
        .iter()
        .filter_map(|b| b.get_attribute("data-room"))
        .collect();
    assert_eq!(names, ["lobby", "rust"]);
    let rust = one(&root, "[data-room=rust]");
    assert_eq!(text(&one(&rust, "[data-testid=unread]")), "3");
    assert_eq!(rust.get_attribute("data-unread").as_deref(), Some("3"));
    assert!(all(&one(&root, "[data-room=lobby]"), "[data-testid=unread]").is_empty());
    // Conversations have their own list, named by the other person.
    let dm = one(&root, "[data-testid=dm-list] [data-room='@alice+bob']");
    assert!(text(&dm).contains("bob"));
    assert_eq!(
        dm.get_attribute("aria-label").as_deref(),
        Some("bob, 2 unread")
    );
    assert!(text(&root).contains("Direct messages"));

    rust.unchecked_into::<HtmlButtonElement>().click();
    settle().await;
    assert_eq!(*selected.borrow(), ["rust"]);
    // On screen and read: no badge.
    app.update(props("rust", 0));
    settle().await;
    let rust = one(&root, "[data-room=rust]");
    assert_eq!(rust.get_attribute("aria-current").as_deref(), Some("true"));
    assert!(all(&rust, "[data-testid=unread]").is_empty());
}

#[wasm_bindgen_test]
async fn the_plus_joins_a_room_by_name_or_from_the_list() {
    let (mut actions, joined) = recording(|a| &mut a.join_room);
    let (list_rooms, browsed) = unit_recorder();
    actions.list_rooms = list_rooms;
    let props = |directory: Option<Vec<RoomInfo>>| {
        provided::<RoomList>(
            &actions,
            RoomListProps {
                rooms: vec![RoomTab::room("lobby", 0)],
                active: "lobby".into(),
                directory,
            },
        )
    };
    let (root, mut app) = mount::<Provided>(props(None)).await;
    assert!(all(&root, "[data-testid=room-add-input]").is_empty());
    let add = one(&root, "[data-testid=room-add]");
    add.clone().unchecked_into::<HtmlButtonElement>().click();
    settle().await;
    assert_eq!(*browsed.borrow(), 1, "opening asks for the rooms");
    let input: HtmlInputElement = one(&root, "[data-testid=room-add-input]").unchecked_into();

    // A bad name is explained and nothing is joined.
    input.set_value("no spaces");
    let form: HtmlFormElement = one(&root, ".rooms__form").unchecked_into();
    form.request_submit().unwrap();
    settle().await;
    assert!(joined.borrow().is_empty());
    one(&root, ".rooms__error");

    input.set_value("#Go");
    form.request_submit().unwrap();
    settle().await;
    assert_eq!(*joined.borrow(), ["go"]);
    assert!(
        all(&root, "[data-testid=room-add-input]").is_empty(),
        "closed"
    );

    // The rooms that exist, except those already joined, one click away.
    app.update(props(Some(vec![
        RoomInfo {
            room: "lobby".into(),
            members: 5,
        },
        RoomInfo {
            room: "rust".into(),
            members: 2,
        },
    ])));
    add.unchecked_into::<HtmlButtonElement>().click();
    settle().await;
    let listed = all(&root, "[data-testid=room-directory] button");
    assert_eq!(listed.len(), 1);
    assert!(text(&listed[0]).contains("#rust"));
    listed[0]
        .clone()
        .unchecked_into::<HtmlButtonElement>()
        .click();
    settle().await;
    assert_eq!(*joined.borrow(), ["go", "rust"]);
}

#[wasm_bindgen_test]
async fn a_conversation_renders_in_the_sidebar_from_state() {
    let mut state = in_lobby();
    state.apply(Action::Server(ServerMsg::Joined {
        room: "@alice+bob".into(),
        members: vec!["alice".into(), "Bob".into()],
        head: 0,
    }));
    let rooms: Vec<RoomTab> = state
        .rooms
        .values()
        .map(|r| RoomTab {
            name: r.name.clone(),
            label: r.label(state.me.as_deref()),
            direct: r.is_direct(),
            unread: r.unread,
            mentions: r.mentions,
        })
        .collect();
    let (root, _app) = mount::<RoomList>(RoomListProps {
        rooms,
        active: DEFAULT_ROOM.into(),
        directory: None,
    })
    .await;
    let dm = one(&root, "[data-testid=dm-list] [data-room='@alice+bob']");
    assert_eq!(text(&one(&dm, ".room__name")), "Bob");
    assert!(all(&root, "[data-testid=room-list] [data-room='@alice+bob']").is_empty());
}

// The browser lowercases nicknames for the client (`frontend::lowercase`):
// it must give what the server's `str::to_lowercase` gives, so that a
// conversation has the name the server knows it by.
#[wasm_bindgen_test]
fn the_browser_lowercases_nicknames_as_the_server_does() {
    for nick in [
        "ÉMILE",
        "Zoë",
        "ΟΔΟΣ",
        "ΣΑΣ ΣΑΣ",
        "İris",
        "ǅemal",
        "ẞTRASSE",
        "ПРИВЕТ",
        "ꞫAB",
        "Ａｌｉｃｅ",
    ] {
        assert_eq!(
            frontend::lowercase::lowercase(nick),
            nick.to_lowercase(),
            "{nick}"
        );
    }
    assert_eq!(
        frontend::lowercase::direct_room("Zoë", "ÉMILE"),
        shared::direct_room("Zoë", "ÉMILE")
    );
}
