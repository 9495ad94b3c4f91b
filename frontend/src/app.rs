//! The root component: lays the page out and wires the views to `use_chat`.

use yew::prelude::*;

use crate::components::{Composer, ConnectionStatus, MessageList, NickPrompt, OnlineList};
use crate::hooks::use_chat;
use crate::state::Pending;

/// The whole client: the nickname form until the server accepts a nickname,
/// then the active room with its online list and composer.
#[component]
pub fn App() -> Html {
    let chat = use_chat();
    let state = &*chat.state;
    let asking = state.needs_nick();

    let main = if asking {
        let initial = state
            .joining
            .clone()
            .or_else(|| state.me.clone())
            .unwrap_or_default();
        html! {
            <main class="app__main app__main--prompt">
                <NickPrompt
                    initial={initial}
                    busy={state.joining.is_some()}
                    error={state.nick_error.clone().map(AttrValue::from)}
                    onsubmit={chat.set_nick.clone()}
                />
            </main>
        }
    } else {
        let room = state.active();
        let lines = room.map(|r| r.lines.clone()).unwrap_or_default();
        let members = room.map(|r| r.members.clone()).unwrap_or_default();
        let pending: Vec<Pending> = state.pending_in(&state.active_room).cloned().collect();
        html! {
            <main class="app__main app__main--chat">
                <section class="chat" aria-label={format!("#{}", state.active_room)}>
                    <MessageList {lines} {pending} me={state.me.clone().map(AttrValue::from)} />
                    <Composer
                        onsend={chat.send_text.clone()}
                        enabled={state.registered}
                        room={state.active_room.clone()}
                        max_bytes={state.limits.max_text_bytes}
                    />
                </section>
                <aside class="side">
                    <OnlineList {members} me={state.me.clone()} />
                </aside>
            </main>
        }
    };

    html! {
        <div class="app">
            <header class="topbar">
                <h1 class="topbar__brand">{ "Hubbub" }</h1>
                if !asking {
                    <span class="topbar__room">{ format!("#{}", state.active_room) }</span>
                }
                <span class="topbar__spacer"></span>
                if let (false, Some(me)) = (asking, &state.me) {
                    <span class="topbar__me" title="your nickname">{ me.clone() }</span>
                }
                <ConnectionStatus conn={state.conn} />
            </header>
            { main }
        </div>
    }
}
