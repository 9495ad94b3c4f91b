//! A room's history in the list: only a window of the newest lines in the
//! DOM, more as the reader scrolls up, older pages from the server, the
//! jump back to the latest, the marker of a gap, and what one more message
//! costs with 10,000 present.

use std::rc::Rc;
use std::time::Duration;

use frontend::components::{MessageList, PAGE, WINDOW};
use frontend::state::{Action, ChatState};
use shared::{DEFAULT_ROOM, ServerMsg};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};
use web_sys::{Element, HtmlButtonElement};
use yew::Reducible;

use crate::support::{
    DAY_MS, NOON, Provided, all, chat, eventually, in_lobby, list_props, mount, mount_sized,
    mount_with, now, one, provided, recording, settle, text,
};

fn bulk_state(count: u64) -> ChatState {
    let mut state = in_lobby();
    for seq in 1..=count {
        let nick = if seq % 3 == 0 { "carol" } else { "bob" };
        state.apply(Action::Server(ServerMsg::Message(chat(
            seq,
            nick,
            &format!("message number {seq}, with a little text to wrap https://example.org/{seq}"),
            NOON - 2 * DAY_MS + seq as i64 * 20_000,
        ))));
    }
    state
}

/// Only the newest lines are in the DOM, whatever the room holds; the
/// reader still reaches older ones by scrolling up, and what they were
/// looking at stays in place.
#[wasm_bindgen_test]
async fn a_long_history_renders_a_window_and_grows_at_the_top() {
    let state = bulk_state(2_000);
    let (root, _app) = mount::<MessageList>(list_props(&state)).await;
    let list = one(&root, "[data-testid=message-list]");
    let messages = || all(&root, "[data-testid=message]");
    assert_eq!(messages().len(), WINDOW);
    assert!(text(&messages().pop().unwrap()).contains("message number 2000"));
    let oldest_shown = messages().remove(0);
    assert!(text(&oldest_shown).contains("message number 1851"));

    // Reaching the top adds a page of older lines above.
    list.set_scroll_top(0);
    eventually("older lines", Duration::from_secs(5), || {
        messages().len() == WINDOW + PAGE
    })
    .await;
    assert!(text(&messages().remove(0)).contains("message number 1701"));
    // The line that was at the top is still in view, not pushed away.
    let (top, bottom) = {
        let rect = list.get_bounding_client_rect();
        (rect.top(), rect.bottom())
    };
    let anchor = oldest_shown.get_bounding_client_rect().top();
    assert!(
        anchor >= top - 1.0 && anchor < bottom,
        "the message read before is at {anchor}, the list spans {top}..{bottom}"
    );
    // A keyboard user gets the same through a button.
    one(&root, ".messages__earlier button");
}

/// Appending one message with 10,000 present: the reducer's copy of the
/// state, the props, Yew's diff and render, and the browser's layout (the
/// autoscroll reads the list's height). A measurement, printed, not a
/// pass/fail bound.
#[wasm_bindgen_test]
async fn measure_appending_one_message_to_ten_thousand() {
    const PRESENT: u64 = 10_000;
    let mut state = Rc::new(bulk_state(PRESENT));
    assert_eq!(
        state.active().unwrap().messages().count(),
        PRESENT as usize,
        "all 10,000 are present"
    );
    let (root, mut app) = mount_sized::<MessageList>(list_props(&state), 700).await;
    let list = one(&root, "[data-testid=message-list]");

    let mut times = Vec::new();
    for n in 1..=40u64 {
        let seq = PRESENT + n;
        let next = chat(seq, "bob", &format!("appended {seq}"), NOON + seq as i64);
        let appended = format!("appended {seq}");
        let shown = || {
            all(&list, "[data-testid=message]")
                .pop()
                .is_some_and(|last| text(&last).contains(&appended))
        };
        let start = now();
        state = state.reduce(Action::Server(ServerMsg::Message(next)));
        app.update(list_props(&state));
        // Run Yew's scheduler to the end (no timer in between, which the
        // browser may clamp or align to frames).
        yew::scheduler::flush().await;
        assert!(shown(), "the appended message is on the page");
        // Layout, as the browser must do it before the next paint.
        let _ = list.scroll_height();
        times.push(now() - start);
    }
    assert!(state.active().unwrap().messages().count() > PRESENT as usize);
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p90 = times[times.len() * 9 / 10];
    let max = times[times.len() - 1];
    console_log!(
        "append one message with {PRESENT} present: median {median:.1} ms, p90 {p90:.1} ms, \
         max {max:.1} ms over {} appends ({} rows in the DOM)",
        times.len(),
        all(&list, "li").len()
    );
}

#[wasm_bindgen_test]
async fn jump_to_latest_counts_what_arrived_while_reading_history() {
    let mut state = Rc::new(bulk_state(300));
    let (root, mut app) = mount_sized::<MessageList>(list_props(&state), 400).await;
    let list = one(&root, "[data-testid=message-list]");
    let at_bottom =
        |list: &Element| list.scroll_height() - list.scroll_top() - list.client_height() < 4;
    assert!(
        at_bottom(&list),
        "starts at the newest: height {} top {} client {}",
        list.scroll_height(),
        list.scroll_top(),
        list.client_height()
    );
    assert!(all(&root, "[data-testid=jump-to-latest]").is_empty());

    // New messages while following: still at the bottom.
    state = state.reduce(Action::Server(ServerMsg::Message(chat(
        301, "bob", "followed", NOON,
    ))));
    app.update(list_props(&state));
    settle().await;
    assert!(at_bottom(&list));

    // Scroll up a little: the list stays put and offers a way back.
    list.set_scroll_top(list.scroll_top() - 600);
    eventually("the jump button", Duration::from_secs(5), || {
        !all(&root, "[data-testid=jump-to-latest]").is_empty()
    })
    .await;
    let reading = list.scroll_top();
    for seq in 302..=304 {
        state = state.reduce(Action::Server(ServerMsg::Message(chat(
            seq,
            "bob",
            "while away",
            NOON,
        ))));
    }
    app.update(list_props(&state));
    settle().await;
    assert_eq!(list.scroll_top(), reading, "no autoscroll while reading");
    let jump = one(&root, "[data-testid=jump-to-latest]");
    assert!(
        text(&jump).contains("Jump to latest (3 new)"),
        "{}",
        text(&jump)
    );

    jump.unchecked_into::<HtmlButtonElement>().click();
    eventually("the jump button to go", Duration::from_secs(5), || {
        all(&root, "[data-testid=jump-to-latest]").is_empty()
    })
    .await;
    assert!(at_bottom(&list));
}

fn history(seqs: impl IntoIterator<Item = u64>, has_older: bool) -> Action {
    Action::Server(ServerMsg::History {
        room: DEFAULT_ROOM.into(),
        messages: seqs
            .into_iter()
            .map(|seq| {
                chat(
                    seq,
                    "bob",
                    &format!("history line {seq}"),
                    NOON + seq as i64,
                )
            })
            .collect(),
        has_older,
    })
}

/// At the top of what the page holds, the list asks the server for older
/// messages; when they arrive above, what the reader was looking at stays
/// where it was.
#[wasm_bindgen_test]
async fn older_history_loads_at_the_top_and_the_view_does_not_jump() {
    let mut state = in_lobby();
    state.apply(history(151..=200, true));
    let (actions, asked) = recording(|a| &mut a.load_older);
    let props = |state: &ChatState| provided::<MessageList>(&actions, list_props(state));
    let (root, mut app) = mount_sized::<Provided>(props(&state), 400).await;
    let list = one(&root, "[data-testid=message-list]");
    let messages = || all(&root, "[data-testid=message]");
    assert_eq!(messages().len(), 50);
    one(&root, "[data-testid=load-older]");

    list.set_scroll_top(0);
    eventually(
        "a request for older messages",
        Duration::from_secs(5),
        || !asked.borrow().is_empty(),
    )
    .await;
    assert_eq!(asked.borrow()[0], 151);
    state.apply(Action::OlderRequested(DEFAULT_ROOM.into()));
    app.update(props(&state));
    settle().await;
    one(&root, "[data-testid=loading-older]");

    // The reader looks at the oldest line; the page arrives above it.
    let anchor = messages().remove(0);
    assert!(text(&anchor).contains("history line 151"));
    list.set_scroll_top(10);
    settle().await;
    // Its bottom edge: the line itself may lose its author heading once the
    // same author's older messages are above it.
    let before = anchor.get_bounding_client_rect().bottom();
    state.apply(history(51..=150, true));
    app.update(props(&state));
    settle().await;
    assert_eq!(messages().len(), 150);
    assert!(text(&messages().remove(0)).contains("history line 51"));
    let after = anchor.get_bounding_client_rect().bottom();
    assert!(
        (after - before).abs() <= 2.0,
        "the line read before moved from {before} to {after}"
    );
    assert!(list.scroll_top() > 1000, "the new lines are above the view");

    // The last page: the list says where the conversation starts.
    state.apply(history(1..=50, false));
    app.update(props(&state));
    settle().await;
    list.set_scroll_top(0);
    settle().await;
    one(&root, ".messages__start");
    assert_eq!(asked.borrow().len(), 1, "nothing more to ask for");
}

#[wasm_bindgen_test]
async fn a_gap_after_a_long_absence_is_a_marker_that_loads_the_missing() {
    let mut state = in_lobby();
    state.apply(history(1..=5, false));
    state.apply(Action::Server(ServerMsg::Gap {
        room: DEFAULT_ROOM.into(),
        from: 6,
        to: 2005,
    }));
    state.apply(history(2006..=2010, true));
    let (actions, asked) = recording(|a| &mut a.load_older);
    let (root, _app) = mount_with::<MessageList>(&actions, list_props(&state)).await;
    let gap = one(&root, "[data-testid=gap]");
    assert!(
        text(&gap).contains("2000 messages not shown"),
        "{}",
        text(&gap)
    );
    // Between the last message seen and the latest ones.
    let items: Vec<String> = all(&root, "[data-testid=message], [data-testid=gap]")
        .iter()
        .map(text)
        .collect();
    let at = items.iter().position(|t| t.contains("not shown")).unwrap();
    assert!(items[at - 1].contains("history line 5"));
    assert!(items[at + 1].contains("history line 2006"));
    one(&gap, "button")
        .unchecked_into::<HtmlButtonElement>()
        .click();
    settle().await;
    assert_eq!(*asked.borrow(), [2006]);
}
