//! Accounts and moderation as people see them: the sign-in and register
//! form, the account menu in the top bar, the moderation menu of the online
//! list (only for moderators, sending what was chosen), deleted messages
//! and the Delete action, the room's topic and the slow-mode note, and the
//! room a moderator took the person out of.

use std::collections::BTreeMap;
use std::rc::Rc;

use frontend::components::{
    AccountMenu, AccountMenuProps, Composer, ComposerProps, MessageList, MessageView, NickPrompt,
    NickPromptProps, OnlineList, OnlineListProps, RoomHead, RoomHeadProps,
};
use frontend::state::{Action, Alerts, AuthMode, Entry};
use shared::protocol::{Role, RoomSettings};
use shared::{ChatMessage, ClientMsg, DEFAULT_ROOM, MessageKind, ServerMsg};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{Element, HtmlButtonElement, HtmlFormElement, HtmlInputElement};
use yew::Callback;

use crate::support::{
    HOSTILE, NOON, Provided, all, attr, chat, composer, in_lobby, list_props, message, mount,
    mount_with, one, provided, recorder, recording, settle, text, view,
};

fn click(root: &Element, selector: &str) {
    one(root, selector)
        .unchecked_into::<HtmlButtonElement>()
        .click();
}

fn input(root: &Element, selector: &str) -> HtmlInputElement {
    one(root, selector).unchecked_into()
}

fn prompt(mode: AuthMode) -> NickPromptProps {
    NickPromptProps {
        initial: "ada".into(),
        busy: false,
        error: None,
        note: None,
        mode,
        onmode: Callback::noop(),
        onsubmit: Callback::noop(),
    }
}

#[wasm_bindgen_test]
async fn the_form_offers_guest_sign_in_and_register() {
    let (onmode, modes) = recorder();
    let (root, mut app) = mount::<NickPrompt>(NickPromptProps {
        onmode: onmode.clone(),
        ..prompt(AuthMode::Guest)
    })
    .await;
    // A guest needs only a nickname; the three ways in are one control.
    assert!(all(&root, "[data-testid=password-input]").is_empty());
    assert_eq!(
        attr(&one(&root, "[data-testid=auth-guest]"), "aria-pressed").as_deref(),
        Some("true")
    );
    assert_eq!(text(&one(&root, "[data-testid=nick-submit]")), "Join");
    click(&root, "[data-testid=auth-sign-in]");
    click(&root, "[data-testid=auth-register]");
    settle().await;
    assert_eq!(*modes.borrow(), [AuthMode::SignIn, AuthMode::Register]);

    // Signing in: a labelled password field, for password managers too.
    app.update(NickPromptProps {
        onmode: onmode.clone(),
        ..prompt(AuthMode::SignIn)
    });
    settle().await;
    let password = input(&root, "[data-testid=password-input]");
    assert_eq!(password.type_(), "password");
    assert_eq!(
        attr(&password, "autocomplete").as_deref(),
        Some("current-password")
    );
    let label = one(&root, "label[for=password-input]");
    assert!(text(&label).contains("Password"));
    assert_eq!(
        attr(&input(&root, "[data-testid=nick-input]"), "autocomplete").as_deref(),
        Some("username")
    );
    assert!(all(&root, "[data-testid=invite-input]").is_empty());
    assert_eq!(
        crate::support::document()
            .active_element()
            .and_then(|el| el.get_attribute("data-testid"))
            .as_deref(),
        Some("password-input"),
        "with a nickname there, the password is next"
    );
    assert_eq!(
        attr(&one(&root, "form"), "data-mode").as_deref(),
        Some("sign-in")
    );

    // Registering adds an optional invite code.
    app.update(NickPromptProps {
        onmode,
        ..prompt(AuthMode::Register)
    });
    settle().await;
    assert_eq!(
        attr(
            &input(&root, "[data-testid=password-input]"),
            "autocomplete"
        )
        .as_deref(),
        Some("new-password")
    );
    one(&root, "[data-testid=invite-input]");
    assert_eq!(
        text(&one(&root, "[data-testid=nick-submit]")),
        "Create account"
    );
}

#[wasm_bindgen_test]
async fn signing_in_reports_the_nickname_and_password_and_shows_the_refusal() {
    let (onsubmit, seen) = recorder();
    let (root, mut app) = mount::<NickPrompt>(NickPromptProps {
        onsubmit: onsubmit.clone(),
        ..prompt(AuthMode::SignIn)
    })
    .await;
    input(&root, "[data-testid=password-input]").set_value("correct horse");
    one(&root, "form")
        .unchecked_into::<HtmlFormElement>()
        .request_submit()
        .unwrap();
    settle().await;
    assert_eq!(
        *seen.borrow(),
        [Entry {
            mode: AuthMode::SignIn,
            nick: "ada".into(),
            password: "correct horse".into(),
            invite: String::new(),
        }]
    );

    // Busy: the button says so and cannot be pressed twice.
    app.update(NickPromptProps {
        busy: true,
        onsubmit: onsubmit.clone(),
        ..prompt(AuthMode::SignIn)
    });
    settle().await;
    let submit: HtmlButtonElement = one(&root, "[data-testid=nick-submit]").unchecked_into();
    assert!(submit.disabled());
    assert_eq!(text(&submit), "Signing in…");

    // The server's sentence, under the fields and tied to them.
    app.update(NickPromptProps {
        error: Some(HOSTILE.into()),
        onsubmit,
        ..prompt(AuthMode::SignIn)
    });
    settle().await;
    let error = one(&root, "[data-testid=nick-error]");
    assert_eq!(text(&error), HOSTILE);
    assert!(all(&root, "b, script, img").is_empty());
    assert_eq!(attr(&error, "role").as_deref(), Some("alert"));
    let password = input(&root, "[data-testid=password-input]");
    assert_eq!(attr(&password, "aria-invalid").as_deref(), Some("true"));
    assert_eq!(
        attr(&password, "aria-describedby").as_deref(),
        Some("nick-error")
    );
    let fields = all(&root, "input");
    let error_at = all(&root, "form > *")
        .iter()
        .position(|el| el.get_attribute("data-testid").as_deref() == Some("nick-error"));
    let submit_at = all(&root, "form > *")
        .iter()
        .position(|el| el.get_attribute("data-testid").as_deref() == Some("nick-submit"));
    assert!(
        error_at < submit_at && !fields.is_empty(),
        "under the fields"
    );
}

#[wasm_bindgen_test]
async fn a_note_after_signing_out_is_not_an_alert() {
    let (root, _app) = mount::<NickPrompt>(NickPromptProps {
        note: Some("You signed out.".into()),
        ..prompt(AuthMode::SignIn)
    })
    .await;
    let note = one(&root, "[data-testid=prompt-note]");
    assert_eq!(text(&note), "You signed out.");
    assert_eq!(attr(&note, "role").as_deref(), Some("status"));
    assert!(all(&root, "[data-testid=nick-error]").is_empty());
}

fn account(account: bool) -> AccountMenuProps {
    AccountMenuProps {
        nick: "ada".into(),
        account,
        busy: false,
        error: None,
        onsignout: Callback::noop(),
        onregister: Callback::noop(),
        onsignin: Callback::noop(),
        alerts: Alerts::Unavailable,
        onalerts: Callback::noop(),
    }
}

#[wasm_bindgen_test]
async fn the_account_menu_turns_notifications_on_and_off_as_the_browser_allows() {
    let (onalerts, chosen) = recorder();
    let menu = |alerts| AccountMenuProps {
        alerts,
        onalerts: onalerts.clone(),
        ..account(false)
    };
    let (root, mut app) = mount::<AccountMenu>(menu(Alerts::Unavailable)).await;
    click(&root, "[data-testid=account-button]");
    settle().await;
    assert!(
        all(&root, "[data-testid=notify-toggle]").is_empty(),
        "no Notification here"
    );

    app.update(menu(Alerts::Off));
    settle().await;
    let toggle = one(&root, "[data-testid=notify-toggle]");
    assert!(text(&toggle).contains("Notifications: off"));
    assert_eq!(attr(&toggle, "aria-pressed").as_deref(), Some("false"));
    click(&root, "[data-testid=notify-toggle]");

    app.update(menu(Alerts::On));
    settle().await;
    let toggle = one(&root, "[data-testid=notify-toggle]");
    assert_eq!(attr(&toggle, "aria-pressed").as_deref(), Some("true"));
    click(&root, "[data-testid=notify-toggle]");
    assert_eq!(*chosen.borrow(), [true, false]);

    app.update(menu(Alerts::Blocked));
    settle().await;
    assert!(all(&root, "[data-testid=notify-toggle]").is_empty());
    assert!(text(&one(&root, "[data-testid=notify-blocked]")).contains("site settings"));
}

#[wasm_bindgen_test]
async fn a_signed_in_header_shows_the_mark_and_signs_out() {
    let (onsignout, signed_out) = recorder();
    let (root, _app) = mount::<AccountMenu>(AccountMenuProps {
        onsignout,
        ..account(true)
    })
    .await;
    let button = one(&root, "[data-testid=account-button]");
    assert_eq!(attr(&button, "data-account").as_deref(), Some("true"));
    assert!(text(&button).contains("ada"));
    assert!(text(&one(&root, "[data-testid=account-state]")).contains("signed in"));
    assert!(all(&root, "[data-testid=account-menu]").is_empty());

    click(&root, "[data-testid=account-button]");
    settle().await;
    assert_eq!(attr(&button, "aria-expanded").as_deref(), Some("true"));
    assert!(text(&one(&root, "[data-testid=account-menu]")).contains("Signed in as ada"));
    click(&root, "[data-testid=sign-out-everywhere]");
    settle().await;
    assert!(
        all(&root, "[data-testid=account-menu]").is_empty(),
        "closed"
    );
    click(&root, "[data-testid=account-button]");
    settle().await;
    click(&root, "[data-testid=sign-out]");
    settle().await;
    assert_eq!(*signed_out.borrow(), [true, false]);
}

#[wasm_bindgen_test]
async fn a_guest_registers_its_nickname_from_the_header() {
    let (onregister, registered) = recorder();
    let (onsignin, switched) = recorder();
    let (root, mut app) = mount::<AccountMenu>(AccountMenuProps {
        onregister: onregister.clone(),
        onsignin: onsignin.clone(),
        ..account(false)
    })
    .await;
    assert_eq!(text(&one(&root, "[data-testid=account-state]")), "guest");
    click(&root, "[data-testid=account-button]");
    settle().await;
    assert!(all(&root, "[data-testid=sign-out]").is_empty());
    input(&root, "[data-testid=register-password]").set_value("s3cret pass");
    input(&root, "[data-testid=register-invite]").set_value("inv-1");
    one(&root, "[data-testid=account-menu] form")
        .unchecked_into::<HtmlFormElement>()
        .request_submit()
        .unwrap();
    settle().await;
    assert_eq!(
        *registered.borrow(),
        [("s3cret pass".to_owned(), "inv-1".to_owned())]
    );

    // A refusal stays in the open menu, and the button says it is busy.
    app.update(AccountMenuProps {
        busy: true,
        error: Some("Registration is by invitation".into()),
        onregister,
        onsignin,
        ..account(false)
    });
    settle().await;
    assert_eq!(
        text(&one(&root, "[data-testid=account-error]")),
        "Registration is by invitation"
    );
    let submit: HtmlButtonElement = one(&root, "[data-testid=register-submit]").unchecked_into();
    assert!(submit.disabled());
    click(&root, "[data-testid=switch-account]");
    settle().await;
    assert_eq!(switched.borrow().len(), 1);
}

// Moderation ---------------------------------------------------------------

fn settings(roles: &[(&str, Role)]) -> Rc<RoomSettings> {
    Rc::new(RoomSettings {
        topic: String::new(),
        slow: 0,
        roles: roles
            .iter()
            .map(|(n, r)| ((*n).to_owned(), *r))
            .collect::<BTreeMap<_, _>>(),
    })
}

fn online(me: &str, roles: &[(&str, Role)]) -> OnlineListProps {
    OnlineListProps {
        members: ["ada", "bob", "carol"].map(String::from).to_vec(),
        me: Some(me.into()),
        room: "mods".into(),
        settings: settings(roles),
        direct: false,
    }
}

fn member_buttons(root: &Element) -> Vec<String> {
    all(root, "[data-testid=member-button]")
        .iter()
        .map(text)
        .collect()
}

#[wasm_bindgen_test]
async fn only_moderators_get_a_menu_and_only_for_those_below_them() {
    let roles = [("ada", Role::Owner), ("carol", Role::Moderator)];
    // bob, a member: names and badges, no menus.
    let (root, _app) = mount::<OnlineList>(online("bob", &roles)).await;
    assert!(member_buttons(&root).is_empty());
    let names: Vec<String> = all(&root, "[data-testid=online-list] li")
        .iter()
        .map(text)
        .collect();
    assert_eq!(names, ["ada, owner", "carol, mod", "bob"], "roles first");
    assert_eq!(
        attr(&all(&root, "li")[0], "data-role").as_deref(),
        Some("owner")
    );

    // carol, a moderator: bob only (not ada, the owner; not herself).
    let (root, _app) = mount::<OnlineList>(online("carol", &roles)).await;
    assert_eq!(member_buttons(&root), ["bob"]);

    // ada, the owner: both, and appointing moderators.
    let (root, _app) = mount::<OnlineList>(online("ada", &roles)).await;
    assert_eq!(member_buttons(&root), ["carol", "bob"]);

    // Nobody moderates a conversation of two.
    let (root, _app) = mount::<OnlineList>(OnlineListProps {
        direct: true,
        ..online("ada", &roles)
    })
    .await;
    assert!(member_buttons(&root).is_empty());
}

#[wasm_bindgen_test]
async fn the_moderation_menu_sends_what_was_chosen() {
    let (actions, sent) = recording(|a| &mut a.command);
    let roles = [("ada", Role::Owner), ("carol", Role::Moderator)];
    let (root, _app) = mount_with::<OnlineList>(&actions, online("ada", &roles)).await;
    let bob = one(&root, "[data-nick=bob] [data-testid=member-button]");
    bob.clone().unchecked_into::<HtmlButtonElement>().click();
    settle().await;
    assert_eq!(attr(&bob, "aria-expanded").as_deref(), Some("true"));
    let menu = one(&root, "[data-testid=member-menu]");
    assert_eq!(attr(&menu, "aria-label").as_deref(), Some("Moderate bob"));
    let choices: Vec<String> = all(&menu, ".member-menu__action")
        .iter()
        .map(text)
        .collect();
    let ban = one(&menu, "[data-testid=mod-ban-day]");
    assert_eq!(
        attr(&ban, "aria-label").as_deref(),
        Some("Ban bob for 1 day")
    );
    assert_eq!(
        choices,
        [
            "Kick",
            "Unmute",
            "1 h",
            "1 day",
            "forever",
            "1 h",
            "1 day",
            "forever",
            "Make moderator"
        ]
    );

    // Ban for a day, with a reason.
    input(&menu, "[data-testid=mod-reason]").set_value(" flooding ");
    click(&menu, "[data-testid=mod-ban-day]");
    settle().await;
    assert!(all(&root, "[data-testid=member-menu]").is_empty(), "closed");

    // Kick carol; take her moderator's role away.
    click(&root, "[data-nick=carol] [data-testid=member-button]");
    settle().await;
    let menu = one(&root, "[data-testid=member-menu]");
    click(&menu, "[data-testid=mod-kick]");
    settle().await;
    click(&root, "[data-nick=carol] [data-testid=member-button]");
    settle().await;
    click(&root, "[data-testid=mod-demote]");
    settle().await;
    assert_eq!(
        *sent.borrow(),
        [
            ClientMsg::Ban {
                room: "mods".into(),
                nick: "bob".into(),
                minutes: Some(1440),
                reason: Some("flooding".into()),
            },
            ClientMsg::Kick {
                room: "mods".into(),
                nick: "carol".into(),
                reason: None,
            },
            ClientMsg::Op {
                room: "mods".into(),
                nick: "carol".into(),
                role: Role::Member,
            },
        ]
    );
}

// Deletions ----------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_deleted_message_reads_as_deleted_and_its_text_is_gone() {
    let mut state = in_lobby();
    state.apply(Action::Server(ServerMsg::Message(chat(
        1,
        "bob",
        "a secret I regret",
        NOON,
    ))));
    state.apply(Action::Server(ServerMsg::Message(chat(
        2,
        "bob",
        "still here",
        NOON,
    ))));
    state.apply(Action::Server(ServerMsg::Message(ChatMessage {
        kind: MessageKind::Delete,
        target: Some(1),
        ..chat(3, "bob", "", NOON)
    })));
    let (root, _app) = mount::<MessageList>(list_props(&state)).await;
    let shown = all(&root, "[data-testid=message]");
    assert_eq!(shown.len(), 2, "the deletion is no message of its own");
    assert!(shown[0].class_list().contains("msg--deleted"));
    assert_eq!(
        text(&one(&shown[0], "[data-testid=message-deleted]")),
        "Message deleted"
    );
    assert!(!text(&root).contains("a secret I regret"));
    assert!(text(&shown[1]).contains("still here"));
    assert_eq!(attr(&shown[0], "data-author").as_deref(), Some("bob"));
}

/// Answers the page's next `confirm` dialogs with `yes`, counting their
/// questions in `window.asked`.
fn answer_confirm(yes: bool) {
    let answer = js_sys::Function::new_with_args(
        "question",
        &format!("window.asked = (window.asked || 0) + 1; return {yes};"),
    );
    let window = web_sys::window().unwrap();
    js_sys::Reflect::set(&window, &"confirm".into(), &answer).unwrap();
}

fn questions_asked() -> f64 {
    let window = web_sys::window().unwrap();
    js_sys::Reflect::get(&window, &"asked".into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

#[wasm_bindgen_test]
async fn delete_asks_first_and_then_names_the_message() {
    let mut state = in_lobby();
    state.account = true;
    state.apply(Action::Server(ServerMsg::Message(chat(
        7, "alice", "typo", NOON,
    ))));
    let (actions, deleted) = recording(|a| &mut a.command);
    let (root, _app) = mount_with::<MessageList>(&actions, list_props(&state)).await;
    let asked = questions_asked();
    answer_confirm(false);
    click(&root, "[data-testid=delete-message]");
    settle().await;
    assert_eq!(questions_asked(), asked + 1.0);
    assert!(deleted.borrow().is_empty(), "not when the answer is no");
    answer_confirm(true);
    click(&root, "[data-testid=delete-message]");
    settle().await;
    assert_eq!(
        *deleted.borrow(),
        [ClientMsg::Delete {
            room: DEFAULT_ROOM.into(),
            seq: 7
        }]
    );

    // Not deletable: no Delete.
    let (root, _app) = mount::<MessageView>(view(message(8, "bob", "x", MessageKind::Text))).await;
    assert!(all(&root, "[data-testid=delete-message]").is_empty());
}

#[wasm_bindgen_test]
async fn signed_in_authors_and_moderators_get_delete_in_the_list() {
    let mut state = in_lobby();
    for (seq, nick) in [(1, "alice"), (2, "bob")] {
        state.apply(Action::Server(ServerMsg::Message(chat(
            seq, nick, "hi", NOON,
        ))));
    }
    let deletable = |state: &frontend::state::ChatState| {
        let props = list_props(state);
        async move {
            let (root, _app) = mount::<MessageList>(props).await;
            all(&root, "[data-testid=message]")
                .iter()
                .map(|m| !all(m, "[data-testid=delete-message]").is_empty())
                .collect::<Vec<bool>>()
        }
    };
    // A guest deletes nothing.
    assert_eq!(deletable(&state).await, [false, false]);
    state.account = true;
    assert_eq!(deletable(&state).await, [true, false], "one's own");
    state.apply(Action::Server(ServerMsg::RoomState {
        room: DEFAULT_ROOM.into(),
        settings: RoomSettings {
            roles: [("alice".to_owned(), Role::Moderator)].into(),
            ..RoomSettings::default()
        },
    }));
    assert_eq!(deletable(&state).await, [true, true], "a moderator's");
}

// The room's head and the composer -------------------------------------------

fn head(topic: &str, slow: u32, moderator: bool) -> RoomHeadProps {
    RoomHeadProps {
        room: "mods".into(),
        label: "#mods".into(),
        topic: topic.to_owned().into(),
        slow,
        moderator,
    }
}

#[wasm_bindgen_test]
async fn the_topic_shows_under_the_rooms_name_as_text() {
    let (root, _app) = mount::<RoomHead>(head(HOSTILE, 0, false)).await;
    assert_eq!(text(&one(&root, ".room-head__name")), "#mods");
    assert_eq!(text(&one(&root, "[data-testid=room-topic]")), HOSTILE);
    assert!(all(&root, "b, script, img").is_empty());
    let name = one(&root, ".room-head__name").get_bounding_client_rect();
    let topic = one(&root, "[data-testid=room-topic]").get_bounding_client_rect();
    assert!(topic.top() >= name.bottom() - 1.0, "under the name");
    assert!(all(&root, "[data-testid=slow-badge]").is_empty());
    assert!(all(&root, "[data-testid=modlog-button]").is_empty());

    // Slow mode shows; a moderator asks for the log from here.
    let (actions, asked) = recording(|a| &mut a.command);
    let (root, _app) = mount_with::<RoomHead>(&actions, head("", 30, true)).await;
    assert!(all(&root, "[data-testid=room-topic]").is_empty());
    assert_eq!(text(&one(&root, "[data-testid=slow-badge]")), "slow · 30 s");
    click(&root, "[data-testid=modlog-button]");
    settle().await;
    assert_eq!(
        *asked.borrow(),
        [ClientMsg::ModLog {
            room: "mods".into(),
            before: None,
            limit: None
        }]
    );
}

fn composing(slow: u32, posted_at: Option<i64>, unslowed: bool) -> ComposerProps {
    ComposerProps {
        slow,
        posted_at,
        unslowed,
        ..composer()
    }
}

#[wasm_bindgen_test]
async fn the_composer_notes_slow_mode_and_counts_down_the_wait() {
    let (root, mut app) = mount::<Composer>(composing(30, None, false)).await;
    let note = || text(&one(&root, "[data-testid=slow-note]"));
    assert_eq!(note(), "Slow mode: one message every 30 s.");

    // Just posted: the wait, in whole seconds.
    let now = js_sys::Date::now() as i64;
    app.update(composing(30, Some(now - 5_500), false));
    settle().await;
    let waiting = note();
    assert!(
        waiting == "Slow mode: you can post again in 25 s."
            || waiting == "Slow mode: you can post again in 24 s.",
        "{waiting}"
    );
    // Moderators are not slowed.
    app.update(composing(30, Some(now), true));
    settle().await;
    assert_eq!(note(), "Slow mode: one message every 30 s.");
    // Off: the usual keys.
    app.update(composing(0, Some(now), false));
    settle().await;
    assert!(all(&root, "[data-testid=slow-note]").is_empty());

    // Muted: said in the same place.
    app.update(ComposerProps {
        muted_until: Some(None),
        ..composer()
    });
    settle().await;
    assert_eq!(
        text(&one(&root, "[data-testid=muted-note]")),
        "You are muted here."
    );
}

#[wasm_bindgen_test]
async fn a_room_the_person_was_taken_out_of_offers_to_join_again() {
    let (actions, joined) = recording(|a| &mut a.join_room);
    let (root, _app) = mount::<Provided>(provided::<Composer>(
        &actions,
        ComposerProps {
            room: "mods".into(),
            closed: true,
            ..composer()
        },
    ))
    .await;
    assert!(text(&root).contains("You are no longer in #mods."));
    assert!(all(&root, "[data-testid=message-input]").is_empty());
    click(&root, "[data-testid=rejoin-room]");
    settle().await;
    assert_eq!(*joined.borrow(), ["mods"]);
}
