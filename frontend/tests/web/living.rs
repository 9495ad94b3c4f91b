//! Messages that live: a reply's quote and going to what it quotes,
//! reaction chips and the picker, the inline editor and "(edited)", and
//! the composer's "Replying to".

use std::cell::RefCell;
use std::rc::Rc;

use frontend::actions::ChatActions;
use frontend::components::{Composer, MessageList, MessageView};
use frontend::state::{Action, ChatState};
use shared::protocol::{QUICK_REACTIONS, Quote, Reaction};
use shared::{ChatMessage, ClientMsg, DEFAULT_ROOM, ServerMsg};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{
    Element, HtmlButtonElement, HtmlInputElement, HtmlTextAreaElement, KeyboardEvent,
    KeyboardEventInit,
};

use crate::support::{
    NOON, Provided, all, attr, chat, composer, in_lobby, list_props, mount, mount_sized,
    mount_with, one, provided, recorder, recording, settle, text, view,
};

fn click(root: &Element, selector: &str) {
    one(root, selector)
        .unchecked_into::<HtmlButtonElement>()
        .click();
}

fn press(target: &Element, key: &str) {
    let init = KeyboardEventInit::new();
    init.set_key(key);
    // Yew listens at the root, so the event must bubble.
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&event).unwrap();
}

fn reply(seq: u64, to: Quote) -> Rc<ChatMessage> {
    Rc::new(ChatMessage {
        quote: Some(Box::new(to)),
        ..chat(seq, "ada", "yes, today", NOON)
    })
}

#[wasm_bindgen_test]
async fn a_quote_shows_above_the_text() {
    let quoted = Quote::of(41, "bob", "shall we ship it?", false);
    let (root, _app) = mount::<MessageView>(view(reply(42, quoted))).await;
    let quote = one(&root, "[data-testid=quote]");
    assert_eq!(text(&one(&quote, ".quote__nick")), "bob");
    assert_eq!(text(&one(&quote, ".quote__text")), "shall we ship it?");
    assert_eq!(quote.tag_name(), "BUTTON");
    assert_eq!(
        attr(&quote, "aria-label").as_deref(),
        Some("Go to the message from bob")
    );
    assert!(
        quote.compare_document_position(&one(&root, ".msg__text"))
            & web_sys::Node::DOCUMENT_POSITION_FOLLOWING
            != 0,
        "the quote comes before the text"
    );

    let gone = Quote::of(41, "bob", "secret", true);
    let (root, _app) = mount::<MessageView>(view(reply(43, gone))).await;
    assert_eq!(
        text(&one(&root, "[data-testid=quote]")),
        "bobdeleted message"
    );
    assert!(!text(&root).contains("secret"));
}

fn reacted() -> ChatMessage {
    ChatMessage {
        reactions: vec![
            Reaction {
                emoji: "🎉".into(),
                nicks: vec!["ada".into(), "alice".into()],
            },
            Reaction {
                emoji: "👀".into(),
                nicks: vec!["dan".into()],
            },
        ],
        ..chat(7, "bob", "shipped", NOON)
    }
}

fn react(emoji: &str, remove: bool) -> ClientMsg {
    ClientMsg::React {
        room: DEFAULT_ROOM.into(),
        seq: 7,
        emoji: emoji.into(),
        remove,
    }
}

/// alice in the lobby with these messages, and the chat's `command` and
/// `reply` recorded.
async fn listed(
    messages: Vec<ChatMessage>,
    account: bool,
) -> (
    Element,
    yew::AppHandle<Provided>,
    Rc<RefCell<Vec<ClientMsg>>>,
    Rc<RefCell<Vec<Option<Quote>>>>,
) {
    let mut state = in_lobby();
    state.account = account;
    for msg in messages {
        state.apply(Action::Server(ServerMsg::Message(msg)));
    }
    let (command, sent) = recorder();
    let (reply, replies) = recorder();
    let actions = ChatActions {
        command,
        reply,
        ..ChatActions::default()
    };
    let (root, app) = mount_with::<MessageList>(&actions, list_props(&state)).await;
    (root, app, sent, replies)
}

#[wasm_bindgen_test]
async fn reaction_chips_count_mark_ones_own_and_toggle_it() {
    let (root, _app, sent, _) = listed(vec![reacted()], false).await;
    let chips = all(&root, "[data-testid=reaction]");
    let shown: Vec<String> = chips.iter().map(text).collect();
    assert_eq!(shown, ["🎉 2", "👀 1"]);
    assert!(chips[0].class_list().contains("reaction--mine"));
    assert!(!chips[1].class_list().contains("reaction--mine"));
    assert_eq!(attr(&chips[0], "aria-pressed").as_deref(), Some("true"));
    assert_eq!(attr(&chips[0], "title").as_deref(), Some("ada, alice"));
    assert_eq!(attr(&chips[1], "title").as_deref(), Some("dan"));
    chips[0].unchecked_ref::<HtmlButtonElement>().click();
    chips[1].unchecked_ref::<HtmlButtonElement>().click();
    assert_eq!(*sent.borrow(), [react("🎉", true), react("👀", false)]);

    // The picker: the quick ones, and any other emoji typed in.
    assert!(all(&root, "[data-testid=reaction-picker]").is_empty());
    click(&root, "[data-testid=add-reaction]");
    settle().await;
    let quick = all(&root, "[data-testid=pick-reaction]");
    assert_eq!(quick.iter().map(text).collect::<Vec<_>>(), QUICK_REACTIONS);
    quick[0].unchecked_ref::<HtmlButtonElement>().click();
    settle().await;
    assert!(
        all(&root, "[data-testid=reaction-picker]").is_empty(),
        "closed"
    );
    click(&root, "[data-testid=add-reaction]");
    settle().await;
    one(&root, "[data-testid=reaction-input]")
        .unchecked_into::<HtmlInputElement>()
        .set_value(" 🦀 ");
    // Its button, as Enter in the field presses it.
    click(&root, "[data-act=other]");
    settle().await;
    assert_eq!(sent.borrow()[2..], [react("👍", false), react("🦀", false)]);
    // Escape closes it.
    click(&root, "[data-testid=add-reaction]");
    settle().await;
    press(&one(&root, "[data-testid=reaction-input]"), "Escape");
    settle().await;
    assert!(all(&root, "[data-testid=reaction-picker]").is_empty());

    // Someone who may not react (nobody yet, or a message on its way) has
    // the counts only.
    let (root, _app) = mount::<MessageView>(view(Rc::new(reacted()))).await;
    assert_eq!(all(&root, "[data-testid=reaction]").len(), 2);
    assert!(all(&root, "[data-testid=add-reaction]").is_empty());
    assert!(all(&root, "[data-testid=reply-message]").is_empty());
}

#[wasm_bindgen_test]
async fn the_inline_editor_saves_on_enter_and_cancels_on_escape() {
    let (root, _app, edits, _) = listed(vec![chat(7, "alice", "teh plan", NOON)], true).await;
    click(&root, "[data-testid=edit-message]");
    settle().await;
    let editor: HtmlTextAreaElement = one(&root, "[data-testid=edit-input]").unchecked_into();
    assert_eq!(editor.value(), "teh plan");
    assert_eq!(
        web_sys::window()
            .unwrap()
            .document()
            .unwrap()
            .active_element(),
        Some(editor.clone().unchecked_into()),
        "the editor has the focus"
    );
    editor.set_value("the plan\n");
    press(&editor, "Enter");
    settle().await;
    assert_eq!(
        *edits.borrow(),
        [ClientMsg::Edit {
            id: String::new(),
            room: DEFAULT_ROOM.into(),
            seq: 7,
            text: "the plan".into()
        }]
    );
    assert!(all(&root, "[data-testid=edit-input]").is_empty());

    click(&root, "[data-testid=edit-message]");
    settle().await;
    let editor: HtmlTextAreaElement = one(&root, "[data-testid=edit-input]").unchecked_into();
    editor.set_value("never mind");
    press(&editor, "Escape");
    settle().await;
    assert!(all(&root, "[data-testid=edit-input]").is_empty());
    assert_eq!(edits.borrow().len(), 1, "Escape sends nothing");
    assert_eq!(text(&one(&root, ".msg__text")), "teh plan");

    // Someone else's message has no Edit, and a guest edits nothing.
    let (root, _app, _, _) = listed(vec![chat(8, "bob", "hi", NOON)], true).await;
    assert!(all(&root, "[data-testid=edit-message]").is_empty());
    one(&root, "[data-testid=reply-message]");
    let (root, _app, _, _) = listed(vec![chat(9, "alice", "hi", NOON)], false).await;
    assert!(all(&root, "[data-testid=edit-message]").is_empty());
}

#[wasm_bindgen_test]
async fn an_edited_message_says_so_with_the_time_in_its_title() {
    let edited = Rc::new(ChatMessage {
        edited: Some(NOON + 60_000),
        ..chat(3, "bob", "fixed", NOON)
    });
    let (root, _app) = mount::<MessageView>(view(edited)).await;
    let mark = one(&root, "[data-testid=edited]");
    assert_eq!(text(&mark).trim(), "(edited)");
    let title = attr(&mark, "title").unwrap();
    assert!(title.starts_with("Edited "), "{title}");
    assert!(text(&one(&root, ".msg__body")).starts_with("fixed"));
}

#[wasm_bindgen_test]
async fn reply_puts_the_quote_in_the_composer_which_cancels_it() {
    let (root, _app, _, replies) =
        listed(vec![chat(5, "bob", "lunch?\nat noon", NOON)], false).await;
    let button = one(&root, "[data-testid=reply-message]");
    assert_eq!(
        attr(&button, "aria-label").as_deref(),
        Some("Reply to this message")
    );
    click(&root, "[data-testid=reply-message]");
    assert_eq!(
        *replies.borrow(),
        [Some(Quote::of(5, "bob", "lunch?", false))]
    );

    let (actions, asked) = recording(|a| &mut a.reply);
    let props = frontend::components::ComposerProps {
        replying: Some(Quote::of(5, "bob", "lunch?", false)),
        ..composer()
    };
    let (root, _app) = mount_with::<Composer>(&actions, props).await;
    assert_eq!(
        text(&one(&root, "[data-testid=replying]")),
        "Replying to bob: lunch?×"
    );
    click(&root, "[data-testid=cancel-reply]");
    press(&one(&root, "[data-testid=message-input]"), "Escape");
    assert_eq!(*asked.borrow(), [None, None]);
}

fn page(state: &mut ChatState, seqs: impl IntoIterator<Item = u64>) {
    state.apply(Action::Server(ServerMsg::History {
        room: DEFAULT_ROOM.into(),
        messages: seqs
            .into_iter()
            .map(|seq| chat(seq, "bob", &format!("number {seq}"), NOON))
            .collect(),
        has_older: true,
    }));
}

fn found(root: &Element) -> Vec<String> {
    all(root, "[data-found]")
        .iter()
        .filter_map(|m| attr(m, "data-seq"))
        .collect()
}

#[wasm_bindgen_test]
async fn a_quote_goes_to_its_message_loaded_or_not() {
    let mut state = in_lobby();
    page(&mut state, 501..=800);
    state.apply(Action::Server(ServerMsg::Message(
        (*reply(801, Quote::of(520, "bob", "number 520", false))).clone(),
    )));
    state.apply(Action::Server(ServerMsg::Message(
        (*reply(802, Quote::of(100, "bob", "number 100", false))).clone(),
    )));
    let (actions, asked) = recording(|a| &mut a.jump);
    let props = |state: &ChatState| provided::<MessageList>(&actions, list_props(state));
    let (root, mut app) = mount_sized::<Provided>(props(&state), 400).await;
    let list = one(&root, "[data-testid=message-list]");
    let quotes = || all(&root, "[data-testid=quote]");
    assert!(
        all(&root, "[data-seq=\"520\"]").is_empty(),
        "outside the window"
    );
    // What the app does with a jump: the reducer's, then the new props.
    let go = |state: &mut ChatState| {
        let (room, seq) = asked.borrow_mut().pop().expect("a jump");
        state.apply(Action::Jump { room, seq });
        seq
    };

    // Loaded: shown, scrolled to and marked, without asking the server.
    quotes()[0].unchecked_ref::<HtmlButtonElement>().click();
    assert_eq!(go(&mut state), 520);
    assert_eq!(state.awaiting(), None, "nothing to load");
    app.update(props(&state));
    settle().await;
    assert_eq!(found(&root), ["520"]);
    let target = one(&root, "[data-seq=\"520\"]").get_bounding_client_rect();
    let frame = list.get_bounding_client_rect();
    assert!(
        target.top() >= frame.top() && target.bottom() <= frame.bottom(),
        "in view: {}..{} in {}..{}",
        target.top(),
        target.bottom(),
        frame.top(),
        frame.bottom()
    );

    // Not loaded: the page around it is asked for (by the hook, for what
    // the state awaits), and it is gone to once it has come, with a
    // marker for what is still missing below it.
    let latest = one(&root, "[data-testid=jump-to-latest]");
    latest.unchecked_ref::<HtmlButtonElement>().click();
    settle().await;
    quotes()
        .pop()
        .unwrap()
        .unchecked_ref::<HtmlButtonElement>()
        .click();
    assert_eq!(go(&mut state), 100);
    assert_eq!(state.awaiting(), Some((DEFAULT_ROOM.into(), 100)));
    page(&mut state, 75..=124);
    app.update(props(&state));
    settle().await;
    assert_eq!(found(&root), ["100"]);
    let gap = one(&root, "[data-testid=gap]");
    assert!(
        text(&gap).starts_with("376 messages not shown"),
        "{}",
        text(&gap)
    );
}
