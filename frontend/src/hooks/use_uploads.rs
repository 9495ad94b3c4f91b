//! `use_uploads`: files the person shares, from choosing them to the server's
//! answer. Each runs as an [`upload::Transfer`] (the XMLHttpRequest) whose
//! events become [`Action`]s in the chat state, where the upload rows are
//! drawn from. The file itself appears in the conversation when the server
//! announces it over the WebSocket, as for everyone else.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::state::{Action, ChatState};
use crate::upload::{self, Chosen, Transfer};

/// What the UI may ask about uploads.
#[derive(Clone, PartialEq)]
pub struct UseUploadsHandle {
    /// Share these files in the room on screen, signed by the session
    /// cookie or the guest's token.
    pub share: Callback<Vec<Chosen>>,
    /// Stop an upload under way (by its id).
    pub cancel: Callback<u64>,
    /// Close the row of an upload that ended.
    pub dismiss: Callback<u64>,
}

/// The transfers under way, by upload id.
#[derive(Default)]
struct Transfers {
    next_id: u64,
    live: HashMap<u64, Transfer>,
}

#[hook]
pub fn use_uploads(chat: &UseReducerHandle<ChatState>) -> UseUploadsHandle {
    // Dropped with the component, which cancels whatever still runs.
    let transfers = use_mut_ref(Transfers::default);

    let share = {
        let transfers = Rc::clone(&transfers);
        let dispatcher = chat.dispatcher();
        let deps = (
            chat.active_room.clone(),
            chat.me.is_some(),
            chat.token.clone(),
        );
        use_callback(deps, move |files: Vec<Chosen>, (room, welcomed, token)| {
            if !*welcomed {
                return;
            }
            for chosen in files {
                let id = {
                    let mut t = transfers.borrow_mut();
                    t.next_id += 1;
                    t.next_id
                };
                dispatcher.dispatch(Action::UploadStarted {
                    id,
                    room: room.clone(),
                    name: chosen.name.clone(),
                    size: chosen.file.size() as u64,
                });
                let on_event = report(id, dispatcher.clone(), Rc::downgrade(&transfers));
                match Transfer::start(room, token.as_ref(), &chosen.file, &chosen.name, on_event) {
                    Ok(transfer) => {
                        transfers.borrow_mut().live.insert(id, transfer);
                    }
                    Err(reason) => dispatcher.dispatch(Action::UploadFailed { id, reason }),
                }
            }
        })
    };

    let cancel = {
        let transfers = Rc::clone(&transfers);
        use_callback((), move |id: u64, ()| {
            // Taken out first: cancelling reports at once, and the report
            // needs the transfers.
            let transfer = transfers.borrow_mut().live.remove(&id);
            if let Some(transfer) = transfer {
                transfer.cancel();
            }
        })
    };

    let dismiss = {
        let dispatcher = chat.dispatcher();
        use_callback((), move |id: u64, ()| {
            dispatcher.dispatch(Action::UploadDismissed(id));
        })
    };

    // A finished upload's row goes when its time is up.
    {
        let dispatcher = chat.dispatcher();
        use_effect_with(chat.next_upload_expiry(), move |next| {
            let timer = next.map(|at| {
                let wait = (at - js_sys::Date::now() as i64).clamp(0, 60_000) as u32;
                Timeout::new(wait + 20, move || {
                    dispatcher.dispatch(Action::ExpireUploads(js_sys::Date::now() as i64));
                })
            });
            move || drop(timer)
        });
    }

    UseUploadsHandle {
        share,
        cancel,
        dismiss,
    }
}

/// Turns one transfer's events into actions. Once it has ended, the
/// transfer is let go — after this event is handled, since its listeners are
/// what is running. Weak: the transfers hold this closure.
fn report(
    id: u64,
    dispatcher: UseReducerDispatcher<ChatState>,
    transfers: Weak<RefCell<Transfers>>,
) -> impl Fn(upload::Event) + 'static {
    move |event| {
        let now = js_sys::Date::now() as i64;
        let action = match event {
            upload::Event::Progress { loaded, total } => {
                dispatcher.dispatch(Action::UploadProgress { id, loaded, total });
                return;
            }
            upload::Event::Done => Action::UploadDone { id, at: now },
            upload::Event::Failed(reason) => Action::UploadFailed { id, reason },
            upload::Event::Cancelled => Action::UploadCancelled { id, at: now },
        };
        dispatcher.dispatch(action);
        let transfers = transfers.clone();
        spawn_local(async move {
            if let Some(transfers) = transfers.upgrade() {
                let ended = transfers.borrow_mut().live.remove(&id);
                drop(ended);
            }
        });
    }
}
