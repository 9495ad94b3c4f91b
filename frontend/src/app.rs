//! The root component: lays the page out and wires the views to `use_chat`
//! and `use_uploads`, whose callbacks it provides to the views below it as
//! the [`ChatActions`] context.

use yew::prelude::*;

use crate::actions::ChatActions;
use crate::components::{
    Composer, ConnectionStatus, DropZone, MessageList, NickPrompt, OnlineList, RoomList, RoomTab,
    TypingLine, UploadList,
};
use crate::hooks::{use_chat, use_uploads};
use crate::state::{ConnState, Pending, Upload, room_label};

/// The whole client: the nickname form until the server accepts a nickname,
/// then the active room with its rooms and online list and the composer.
#[component]
pub fn App() -> Html {
    let chat = use_chat();
    let files = use_uploads(&chat.state);
    let state = &*chat.state;
    let asking = state.needs_nick();
    let actions = ChatActions {
        send_text: chat.send_text.clone(),
        typing: chat.typing.clone(),
        retry: chat.retry.clone(),
        dismiss: chat.dismiss.clone(),
        load_older: chat.load_older.clone(),
        switch_room: chat.switch_room.clone(),
        join_room: chat.join_room.clone(),
        list_rooms: chat.list_rooms.clone(),
        share: files.share,
        cancel_upload: files.cancel,
        dismiss_upload: files.dismiss,
    };

    // The tab's title counts unread messages while it is hidden.
    use_effect_with(state.title(), |title| {
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(title);
        }
    });

    let me = state.me.as_deref();
    let active_label = state
        .active()
        .map_or_else(|| room_label(&state.active_room, me), |r| r.label(me));
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
        let rooms: Vec<RoomTab> = state
            .rooms
            .values()
            .map(|r| RoomTab {
                name: r.name.clone(),
                label: r.label(me),
                direct: r.is_direct(),
                unread: r.unread,
            })
            .collect();
        let has_older = room.is_some_and(|r| r.has_older);
        let loading = room.is_some_and(|r| r.loading_older);
        // Expired entries go at the next `ExpireTyping`; until then the
        // time of this render decides.
        let typing: Vec<String> = room
            .map(|r| r.typing_at(js_sys::Date::now() as i64))
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let direct = room.is_some_and(|r| r.is_direct());
        let offline = !matches!(state.conn, ConnState::Connected) || !state.registered;
        let uploads: Vec<Upload> = state.uploads_in(&state.active_room).cloned().collect();
        let can_share = state.me.is_some();
        html! {
            <main class="app__main app__main--chat">
                <section class="chat" aria-label={active_label.clone()}>
                    <DropZone
                        target={active_label.clone()}
                        enabled={can_share}
                    >
                        // One list per room: scroll position and history
                        // window belong to the room.
                        <MessageList
                            key={state.active_room.clone()}
                            {lines}
                            {pending}
                            me={state.me.clone().map(AttrValue::from)}
                            {has_older}
                            {loading}
                        />
                    </DropZone>
                    <TypingLine names={typing} />
                    <UploadList {uploads} />
                    <Composer
                        enabled={state.me.is_some()}
                        {offline}
                        room={state.active_room.clone()}
                        label={direct.then(|| AttrValue::from(active_label.clone()))}
                        max_bytes={state.limits.max_text_bytes}
                    />
                </section>
                <aside class="side">
                    <RoomList
                        {rooms}
                        active={state.active_room.clone()}
                        directory={state.directory.clone()}
                    />
                    <OnlineList {members} me={state.me.clone()} />
                </aside>
            </main>
        }
    };

    html! {
        <ContextProvider<ChatActions> context={actions}>
            <div class="app">
                <header class="topbar">
                    <h1 class="topbar__brand">
                        <span class="topbar__logo" aria-hidden="true">{ "◆" }</span>
                        { "Hubbub" }
                    </h1>
                    if !asking {
                        <span class="topbar__room">{ active_label.clone() }</span>
                    }
                    <span class="topbar__spacer"></span>
                    if let (false, Some(me)) = (asking, &state.me) {
                        <span class="topbar__me" title="your nickname">{ me.clone() }</span>
                    }
                    <ConnectionStatus conn={state.shown_conn()} onretry={chat.reconnect_now.clone()} />
                </header>
                { main }
            </div>
        </ContextProvider<ChatActions>>
    }
}
