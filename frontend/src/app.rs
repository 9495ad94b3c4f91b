//! The root component: lays the page out and wires the views to `use_chat`
//! and `use_uploads`, whose callbacks it provides to the views below it as
//! the [`ChatActions`] context.

use yew::prelude::*;

use crate::actions::ChatActions;
use crate::components::{
    AccountMenu, Composer, ConnectionStatus, DropZone, MessageList, NickPrompt, OnlineList,
    RoomHead, RoomList, RoomTab, TypingLine, UploadList, search_bar,
};
use crate::hooks::{AccountRequest, use_chat, use_uploads};
use crate::state::{ConnState, Pending, Upload, room_label};

/// The whole client: the nickname form (guest, sign in, register) until the
/// server accepts a nickname, then the active room with its head, rooms and
/// online list and the composer, and who the person is in the top bar.
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
        reply: chat.reply.clone(),
        switch_room: chat.switch_room.clone(),
        join_room: chat.join_room.clone(),
        list_rooms: chat.list_rooms.clone(),
        share: files.share,
        cancel_upload: files.cancel,
        dismiss_upload: files.dismiss,
        command: chat.command.clone(),
        close_room: chat.close_room.clone(),
        search: chat.search.clone(),
        jump: chat.jump.clone(),
        // A signed-in browser's cookie reads the files of its
        // conversations; a guest's token must go with a fetch.
        bearer: state.token.clone().filter(|_| !state.account),
    };

    // The tab's title counts unread messages.
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
            .or_else(|| state.prefill.clone())
            .unwrap_or_default();
        html! {
            <main class="app__main app__main--prompt">
                <NickPrompt
                    initial={initial}
                    busy={state.joining.is_some()}
                    error={state.nick_error.clone().map(AttrValue::from)}
                    note={state.prompt_note.clone().map(AttrValue::from)}
                    mode={state.auth_mode}
                    onmode={chat.account.reform(AccountRequest::Mode)}
                    onsubmit={chat.account.reform(AccountRequest::Enter)}
                />
            </main>
        }
    } else {
        let room = state.active();
        let lines = room.map(|r| r.lines.clone()).unwrap_or_default();
        let members = room.map(|r| r.members.clone()).unwrap_or_default();
        let settings = room.map(|r| r.settings.clone()).unwrap_or_default();
        let role = state.my_role(&state.active_room);
        let pending: Vec<Pending> = state.pending_in(&state.active_room).cloned().collect();
        let rooms: Vec<RoomTab> = state
            .rooms
            .values()
            .map(|r| RoomTab {
                name: r.name.clone(),
                label: r.label(me),
                direct: r.is_direct(),
                unread: r.unread,
                mentions: r.mentions,
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
        let ejected = room.is_some_and(|r| r.ejected);
        let offline = !matches!(state.conn, ConnState::Connected) || !state.registered;
        let uploads: Vec<Upload> = state.uploads_in(&state.active_room).cloned().collect();
        let can_share = state.me.is_some() && !ejected;
        let composer = html! {
            <Composer
                enabled={state.me.is_some()}
                {offline}
                room={state.active_room.clone()}
                label={direct.then(|| AttrValue::from(active_label.clone()))}
                max_bytes={state.limits.max_text_bytes}
                slow={settings.slow}
                unslowed={role.moderates()}
                posted_at={room.and_then(|r| r.posted_at)}
                muted_until={room.and_then(|r| r.muted_until)}
                closed={ejected}
                replying={room.and_then(|r| r.replying.clone())}
            />
        };
        html! {
            <main class="app__main app__main--chat">
                <section class="chat" aria-label={active_label.clone()}>
                    <RoomHead
                        room={state.active_room.clone()}
                        label={active_label.clone()}
                        topic={settings.topic.clone()}
                        slow={settings.slow}
                        moderator={role.moderates() && !direct}
                    />
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
                            account={state.account}
                            {role}
                            found={state.found}
                        />
                    </DropZone>
                    <TypingLine names={typing} />
                    <UploadList {uploads} />
                    { composer }
                </section>
                <aside class="side">
                    <RoomList
                        {rooms}
                        active={state.active_room.clone()}
                        directory={state.directory.clone()}
                    />
                    <OnlineList
                        {members}
                        me={state.me.clone()}
                        room={state.active_room.clone()}
                        {settings}
                        {direct}
                    />
                </aside>
            </main>
        }
    };

    let bar_search =
        (!asking && state.me.is_some()).then(|| search_bar(state.search.as_ref(), me, &actions));
    html! {
        <ContextProvider<ChatActions> context={actions}>
            <div class="app">
                <header class="topbar">
                    <h1 class="topbar__brand">
                        <span class="topbar__logo" aria-hidden="true">{ "◆" }</span>
                        { "Hubbub" }
                    </h1>
                    { bar_search }
                    <span class="topbar__spacer"></span>
                    if let (false, Some(me)) = (asking, &state.me) {
                        // A new one once signed in: a registration's menu
                        // closes.
                        <AccountMenu
                            key={if state.account { "account" } else { "guest" }}
                            nick={me.clone()}
                            account={state.account}
                            busy={state.account_busy}
                            error={state.account_error.clone().map(AttrValue::from)}
                            onsignout={chat.account.reform(|everywhere| AccountRequest::SignOut { everywhere })}
                            onregister={chat.account.reform(|(password, invite)| AccountRequest::Register { password, invite })}
                            onsignin={chat.account.reform(|()| AccountRequest::SwitchAccount)}
                            alerts={state.alerts}
                            onalerts={chat.notify.clone()}
                        />
                    }
                    <ConnectionStatus conn={state.shown_conn()} onretry={chat.reconnect_now.clone()} />
                </header>
                { main }
            </div>
        </ContextProvider<ChatActions>>
    }
}
