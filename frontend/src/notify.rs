//! Desktop notifications through the browser's `Notification`: off until
//! the person turns them on in the account menu (the browser then asks
//! for its permission), remembered in this browser, and shown for what
//! the reducer decides is worth one ([`crate::state::Alert`]: a mention or
//! a direct message while the tab is in the background). Clicking one
//! brings the tab forward at that message.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Notification, NotificationOptions, NotificationPermission};
use yew::UseReducerDispatcher;

use crate::markers::local_storage;
use crate::state::{Action, Alert, Alerts, ChatState};

/// localStorage key: present when the person turned notifications on.
const KEY: &str = "hubbub.notify";

/// What the browser allows and the person chose on an earlier visit.
pub fn current() -> Alerts {
    if !available() {
        return Alerts::Unavailable;
    }
    match Notification::permission() {
        NotificationPermission::Denied => Alerts::Blocked,
        NotificationPermission::Granted if chosen() => Alerts::On,
        _ => Alerts::Off,
    }
}

/// Turns notifications on (asking the browser first, from the click that
/// asked: browsers only prompt for a gesture) or off.
pub fn choose(on: bool, dispatcher: UseReducerDispatcher<ChatState>) {
    remember(on);
    if !on {
        return dispatcher.dispatch(Action::Alerts(Alerts::Off));
    }
    let Ok(asked) = Notification::request_permission() else {
        return dispatcher.dispatch(Action::Alerts(Alerts::Unavailable));
    };
    yew::platform::spawn_local(async move {
        // The answer is the permission; reading it again also covers
        // browsers that resolve with nothing.
        let _ = JsFuture::from(asked).await;
        let alerts = current();
        if alerts != Alerts::On {
            remember(false);
        }
        dispatcher.dispatch(Action::Alerts(alerts));
    });
}

/// Shows `alert`; a click focuses the tab and jumps to the message. One
/// per room at a time (the room is its tag): a newer one replaces it.
pub fn show(alert: &Alert, dispatcher: UseReducerDispatcher<ChatState>) {
    let options = NotificationOptions::new();
    options.set_body(&alert.body);
    options.set_tag(&alert.room);
    let Ok(shown) = Notification::new_with_options(&alert.title, &options) else {
        return;
    };
    let (room, seq) = (alert.room.clone(), alert.seq);
    let onclick = Closure::once_into_js(move |e: web_sys::Event| {
        if let Some(window) = web_sys::window() {
            let _ = window.focus();
        }
        if let Some(n) = e.target().and_then(|t| t.dyn_into::<Notification>().ok()) {
            n.close();
        }
        dispatcher.dispatch(Action::Jump { room, seq });
    });
    shown.set_onclick(Some(onclick.unchecked_ref()));
}

fn available() -> bool {
    web_sys::window().is_some_and(|w| {
        w.is_secure_context() && js_sys::Reflect::has(&w, &"Notification".into()).unwrap_or(false)
    })
}

fn chosen() -> bool {
    local_storage().is_some_and(|s| s.get_item(KEY).ok().flatten().is_some())
}

fn remember(on: bool) {
    if let Some(s) = local_storage() {
        let _ = if on {
            s.set_item(KEY, "1")
        } else {
            s.remove_item(KEY)
        };
    }
}
