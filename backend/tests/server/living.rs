//! Messages that live: replies, edits, reactions, read markers, unread
//! counts and search, through the real server, as typed clients and
//! terminals use them.

use shared::protocol::UnreadCount;
use shared::{ClientMsg, ErrorCode, MessageKind, ServerMsg};

use crate::support::{Client, TestServer, http_get};
use crate::tcp::Nc;

/// Sends `text` to the lobby as message `id` answering `reply_to`.
async fn reply(client: &mut Client, id: &str, text: &str, reply_to: u64) {
    client
        .send(&ClientMsg::Send {
            id: id.into(),
            room: "lobby".into(),
            text: text.into(),
            kind: MessageKind::Text,
            reply_to: Some(reply_to),
        })
        .await;
}

async fn edit(client: &mut Client, id: &str, seq: u64, text: &str) {
    client
        .send(&ClientMsg::Edit {
            id: id.into(),
            room: "lobby".into(),
            seq,
            text: text.into(),
        })
        .await;
}

async fn react(client: &mut Client, seq: u64, emoji: &str, remove: bool) {
    client
        .send(&ClientMsg::React {
            room: "lobby".into(),
            seq,
            emoji: emoji.into(),
            remove,
        })
        .await;
}

/// Moves the client's read marker in the lobby to `seq`.
async fn read(client: &mut Client, seq: u64) {
    client
        .send(&ClientMsg::Read {
            room: "lobby".into(),
            seq,
        })
        .await;
}

/// The lobby's marker as the server next tells this connection.
async fn marker_heard(client: &mut Client) -> u64 {
    match client
        .recv_until(|m| matches!(m, ServerMsg::Read { .. }))
        .await
    {
        ServerMsg::Read { room, seq } => {
            assert_eq!(room, "lobby");
            seq
        }
        _ => unreachable!(),
    }
}

/// The lobby's unread counts, asked for now.
async fn lobby_unread(client: &mut Client) -> UnreadCount {
    client.send(&ClientMsg::Unread).await;
    match client
        .recv_until(|m| matches!(m, ServerMsg::Unread { .. }))
        .await
    {
        ServerMsg::Unread { rooms } => rooms
            .into_iter()
            .find(|c| c.room == "lobby")
            .unwrap_or_else(|| panic!("no count for the lobby")),
        _ => unreachable!(),
    }
}

/// The lobby's messages as history returns them now.
async fn lobby_history(client: &mut Client) -> Vec<shared::ChatMessage> {
    client
        .send(&ClientMsg::History {
            room: "lobby".into(),
            before: u64::MAX,
            limit: Some(100),
        })
        .await;
    match client
        .recv_until(|m| matches!(m, ServerMsg::History { .. }))
        .await
    {
        ServerMsg::History { messages, .. } => messages,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_reply_quotes_its_message_live_and_in_history() {
    let server = TestServer::start().await;
    let mut ada = Client::joined(&server, "ada").await;
    let mut bob = Client::joined(&server, "bob").await;
    ada.say("a1", "shall we ship it today?\nor tomorrow").await;
    let question = bob.next_message().await;
    assert_eq!(ada.next_message().await, question);
    reply(&mut bob, "b1", "today!", question.seq).await;
    let answer = ada.next_message().await;
    let quote = answer.quote.as_deref().expect("a reply quotes its message");
    assert_eq!(
        (quote.seq, quote.nick.as_str(), quote.text.as_str()),
        (question.seq, "ada", "shall we ship it today?…")
    );
    let history = lobby_history(&mut ada).await;
    let stored = history.iter().find(|m| m.seq == answer.seq).unwrap();
    assert_eq!(stored.quote, answer.quote);

    // A reply to nothing is refused, and takes no number.
    reply(&mut bob, "b2", "to what?", 999).await;
    assert!(bob.refused(ErrorCode::NoSuchMessage).await.contains("999"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_author_edits_their_message_and_every_copy_shows_the_new_text() {
    let server = TestServer::start().await;
    server.register("ada").await;
    let mut ada = Client::member(&server, "ada").await;
    let mut bob = Client::joined(&server, "bob").await;
    ada.say("a1", "the relase is out").await;
    let original = bob.next_message().await;
    edit(&mut ada, "a2", original.seq, "the release is out").await;
    let change = bob.next_message().await;
    assert_eq!(change.kind, MessageKind::Edit);
    assert_eq!(change.target, Some(original.seq));
    assert_eq!(change.text, "the release is out");
    match ada
        .recv_until(|m| matches!(m, ServerMsg::Ack { id, .. } if id == "a2"))
        .await
    {
        ServerMsg::Ack { seq, .. } => assert_eq!(seq, change.seq),
        _ => unreachable!(),
    }

    // History has the message with its new text, marked edited and at the
    // edit's number.
    let history = lobby_history(&mut bob).await;
    let stored = history.iter().find(|m| m.seq == original.seq).unwrap();
    assert_eq!(stored.text, "the release is out");
    assert!(stored.edited.is_some());
    assert_eq!(stored.rev, change.seq);

    // Nobody else edits it, a guest edits nothing, and the same text is no
    // change.
    edit(&mut bob, "b1", original.seq, "hijacked").await;
    assert!(bob.refused(ErrorCode::Forbidden).await.contains("sign in"));
    server.register("carol").await;
    let mut carol = Client::member(&server, "carol").await;
    edit(&mut carol, "c1", original.seq, "hijacked").await;
    assert!(
        carol
            .refused(ErrorCode::Forbidden)
            .await
            .contains("someone else's")
    );
    edit(&mut ada, "a3", original.seq, "the release is out").await;
    ada.refused(ErrorCode::Unchanged).await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn editing_can_be_turned_off() {
    let server = TestServer::start_with(|config| {
        config.messages.edit_window = std::time::Duration::ZERO;
    })
    .await;
    server.register("ada").await;
    let mut ada = Client::member(&server, "ada").await;
    ada.say("a1", "typo").await;
    let message = ada.next_message().await;
    edit(&mut ada, "a2", message.seq, "fixed").await;
    assert!(
        ada.refused(ErrorCode::Forbidden)
            .await
            .contains("cannot be edited")
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn reactions_are_given_counted_and_taken_back() {
    let server = TestServer::start().await;
    let mut ada = Client::joined(&server, "ada").await;
    let mut bob = Client::joined(&server, "bob").await;
    let mut cat = Client::joined(&server, "cat").await;
    ada.say("a1", "we shipped").await;
    let shipped = bob.next_message().await;
    cat.next_message().await;
    ada.next_message().await;

    react(&mut bob, shipped.seq, "🎉", false).await;
    let given = ada.next_message().await;
    assert_eq!(
        (
            given.kind,
            given.target,
            given.text.as_str(),
            given.nick.as_str()
        ),
        (MessageKind::React, Some(shipped.seq), "🎉", "bob")
    );
    assert_eq!(
        given.quote.as_deref().map(|q| q.text.as_str()),
        Some("we shipped")
    );
    // ❤ without its variation selector is the same reaction as ❤️.
    react(&mut cat, shipped.seq, "🎉", false).await;
    react(&mut cat, shipped.seq, "❤", false).await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        seen.push(ada.next_message().await.text);
    }
    assert_eq!(seen, ["🎉", "❤️"]);
    react(&mut cat, shipped.seq, "❤️", false).await;
    cat.refused(ErrorCode::Unchanged).await;

    let history = lobby_history(&mut ada).await;
    let stored = history.iter().find(|m| m.seq == shipped.seq).unwrap();
    let counts: Vec<(&str, Vec<&str>)> = stored
        .reactions
        .iter()
        .map(|r| {
            (
                r.emoji.as_str(),
                r.nicks.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(counts, [("🎉", vec!["bob", "cat"]), ("❤️", vec!["cat"])]);

    react(&mut bob, shipped.seq, "🎉", true).await;
    let taken = ada.next_message().await;
    assert_eq!(taken.kind, MessageKind::Unreact);
    react(&mut bob, shipped.seq, "🎉", true).await;
    bob.refused(ErrorCode::Unchanged).await;
    let history = lobby_history(&mut ada).await;
    let stored = history.iter().find(|m| m.seq == shipped.seq).unwrap();
    assert_eq!(stored.reactions[0].nicks, ["cat"]);
    assert_eq!(stored.rev, taken.seq);

    // Words are no reaction, nor is a reaction to a reaction, nor one in a
    // room one is not in.
    react(&mut bob, shipped.seq, "great", false).await;
    bob.refused(ErrorCode::ReactionInvalid).await;
    react(&mut bob, given.seq, "👍", false).await;
    bob.refused(ErrorCode::NoSuchMessage).await;
    bob.send(&ClientMsg::React {
        room: "elsewhere".into(),
        seq: 1,
        emoji: "👍".into(),
        remove: false,
    })
    .await;
    bob.refused(ErrorCode::NotInRoom).await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_back_from_the_middle_of_an_edit_storm_gets_each_change_once_in_order() {
    let server = TestServer::start().await;
    server.register("ada").await;
    let mut ada = Client::member(&server, "ada").await;
    let mut bob = Client::joined(&server, "bob").await;
    ada.say("a0", "draft 0").await;
    let target = bob.next_message().await;
    // Bob sees the first half of the storm, then goes away.
    for n in 1..=5 {
        edit(
            &mut ada,
            &format!("e{n}"),
            target.seq,
            &format!("draft {n}"),
        )
        .await;
        react(
            &mut ada,
            target.seq,
            if n % 2 == 0 { "👀" } else { "👍" },
            n > 2,
        )
        .await;
    }
    let mut last_seen = target.seq;
    for _ in 0..4 {
        last_seen = bob.next_message().await.seq;
    }
    drop(bob);
    for n in 6..=10 {
        edit(
            &mut ada,
            &format!("e{n}"),
            target.seq,
            &format!("draft {n}"),
        )
        .await;
    }
    // Everything Ada sent is in once she has every ack.
    let mut acked = 0;
    while acked < 10 {
        if let ServerMsg::Ack { id, .. } = ada.recv().await
            && id.starts_with('e')
        {
            acked += 1;
        }
    }
    let mut back = Client::resume(&server, "bob", &[("lobby", last_seen)]).await;
    let ServerMsg::History {
        messages: missed, ..
    } = back
        .recv_until(|m| matches!(m, ServerMsg::History { .. }))
        .await
    else {
        unreachable!()
    };
    let seqs: Vec<u64> = missed.iter().map(|m| m.seq).collect();
    let expected: Vec<u64> = (last_seen + 1..=seqs.last().copied().unwrap_or(0)).collect();
    assert_eq!(seqs, expected, "gapless, in order, each once");
    let edits: Vec<&str> = missed
        .iter()
        .filter(|m| m.kind == MessageKind::Edit)
        .map(|m| m.text.as_str())
        .collect();
    // Bob saw edits 1 and 2 (with their reactions) before he left.
    let wanted: Vec<String> = (3..=10).map(|n| format!("draft {n}")).collect();
    assert_eq!(edits, wanted);
    // Applying what he missed by `rev` leaves him where history is.
    let now = lobby_history(&mut back).await;
    let current = now.iter().find(|m| m.seq == target.seq).unwrap();
    assert_eq!(current.text, "draft 10");
    assert_eq!(current.rev, *seqs.last().unwrap());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_deleted_message_leaves_no_text_behind_its_edits_or_in_search() {
    let server = TestServer::start().await;
    server.register("ada").await;
    let mut ada = Client::member(&server, "ada").await;
    ada.say("a1", "my secret plan").await;
    let message = ada.next_message().await;
    edit(&mut ada, "a2", message.seq, "my secret plan, revised").await;
    ada.next_message().await;
    ada.send(&ClientMsg::Delete {
        room: "lobby".into(),
        seq: message.seq,
    })
    .await;
    let deletion = ada.next_message().await;
    assert_eq!(deletion.kind, MessageKind::Delete);
    for stored in lobby_history(&mut ada).await {
        assert!(!stored.text.contains("secret"), "{stored:?}");
    }
    ada.send(&ClientMsg::Search {
        q: "secret".into(),
        room: None,
        before: None,
    })
    .await;
    match ada
        .recv_until(|m| matches!(m, ServerMsg::SearchResults { .. }))
        .await
    {
        ServerMsg::SearchResults { results, .. } => assert!(results.is_empty(), "{results:?}"),
        _ => unreachable!(),
    }
    // A change to a deleted message is refused.
    edit(&mut ada, "a3", message.seq, "back").await;
    ada.refused(ErrorCode::NoSuchMessage).await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn search_finds_words_in_the_rooms_one_may_read_with_snippets_and_pages() {
    let server = TestServer::start_with(|config| {
        config.guard.messages_per_second = 1e6;
        config.guard.message_burst = 100_000;
    })
    .await;
    let mut ada = Client::joined(&server, "ada").await;
    for n in 0..25 {
        ada.say(
            &format!("a{n}"),
            &format!("release notes number {n} are here"),
        )
        .await;
    }
    ada.say("b", "unrelated chatter").await;
    ada.say("c", "the Relèases are café-friendly").await;
    let mut seen = 0;
    while seen < 27 {
        ada.next_message().await;
        seen += 1;
    }
    ada.send(&ClientMsg::Search {
        q: "releas".into(),
        room: Some("lobby".into()),
        before: None,
    })
    .await;
    let ServerMsg::SearchResults {
        results: first,
        next,
        ..
    } = ada
        .recv_until(|m| matches!(m, ServerMsg::SearchResults { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(first.len(), shared::limits::SEARCH_PAGE);
    // Newest first, diacritics and case folded, the match marked.
    assert_eq!(first[0].snippet, ["the ", "Relèases", " are café-friendly"]);
    assert_eq!(
        first[1].snippet.concat(),
        "release notes number 24 are here"
    );
    assert_eq!(first[1].snippet[1], "release");
    let next = next.expect("more than a page");
    ada.send(&ClientMsg::Search {
        q: "releas".into(),
        room: Some("lobby".into()),
        before: Some(next),
    })
    .await;
    match ada
        .recv_until(|m| matches!(m, ServerMsg::SearchResults { .. }))
        .await
    {
        ServerMsg::SearchResults { results, next, .. } => {
            assert_eq!(results.len(), 26 - shared::limits::SEARCH_PAGE);
            assert_eq!(
                results.last().unwrap().snippet.concat(),
                "release notes number 0 are here"
            );
            assert_eq!(next, None);
        }
        _ => unreachable!(),
    }

    // What a person types is words, never search syntax; nothing is an
    // error to say.
    ada.send(&ClientMsg::Search {
        q: "\"NEAR( OR *".into(),
        room: None,
        before: None,
    })
    .await;
    ada.recv_until(|m| matches!(m, ServerMsg::SearchResults { .. }))
        .await;
    ada.send(&ClientMsg::Search {
        q: "   ".into(),
        room: None,
        before: None,
    })
    .await;
    ada.refused(ErrorCode::TextEmpty).await;

    // Over HTTP, for whoever may read the room; a conversation is its two
    // users' only.
    let found = http_get(server.addr, "/api/search?q=chatter&room=lobby", &[]).await;
    assert_eq!(found.status, 200, "{}", found.text());
    let page: serde_json::Value = serde_json::from_slice(&found.body).unwrap();
    assert_eq!(page["results"][0]["snippet"][1], "chatter");
    let missing = http_get(server.addr, "/api/search?room=lobby", &[]).await;
    assert_eq!(missing.status, 400, "{}", missing.text());
    let private = http_get(server.addr, "/api/search?q=hi&room=%40ada%2Bbob", &[]).await;
    assert_eq!(private.status, 404, "{}", private.text());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn read_markers_follow_an_account_across_its_connections_and_count_unread() {
    let server = TestServer::start().await;
    server.register("ada").await;
    let mut phone = Client::member(&server, "ada").await;
    let mut laptop = Client::member(&server, "ada").await;
    let mut bob = Client::joined(&server, "bob").await;
    bob.say("b1", "morning").await;
    bob.say("b2", "@ada, a question for you").await;
    bob.say("b3", "@Ada? anyone").await;
    let mut last = 0;
    for _ in 0..3 {
        last = phone.next_message().await.seq;
    }
    let lobby = lobby_unread(&mut phone).await;
    assert_eq!((lobby.read, lobby.unread, lobby.mentions), (0, 3, 2));
    assert_eq!(lobby.head, last, "counted up to the room's latest");

    // Read on the phone up to the first mention: the laptop hears of it.
    read(&mut phone, last - 1).await;
    for connection in [&mut laptop, &mut phone] {
        assert_eq!(marker_heard(connection).await, last - 1);
    }
    let lobby = lobby_unread(&mut laptop).await;
    assert_eq!((lobby.unread, lobby.mentions), (1, 1));
    // A marker never goes back, and one past the room's end stops there.
    read(&mut laptop, 1).await;
    assert_eq!(marker_heard(&mut phone).await, last - 1);
    read(&mut laptop, 10_000).await;
    assert_eq!(marker_heard(&mut phone).await, last);
    // A guest keeps its own.
    bob.send(&ClientMsg::Unread).await;
    bob.refused(ErrorCode::Forbidden).await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_terminal_replies_edits_reacts_and_searches_with_numbered_history() {
    let server = TestServer::start().await;
    let mut ada = Client::joined(&server, "ada").await;
    ada.say("a1", "who is around?").await;
    let question = ada.next_message().await;
    let mut term = Nc::login(&server, "tom").await;
    term.line("/history 5").await;
    term.expect(&format!("#{} <ada> who is around?", question.seq))
        .await;

    term.line(&format!("/reply {} me!", question.seq)).await;
    let answer = ada.next_message().await;
    assert_eq!(answer.quote.as_deref().map(|q| q.seq), Some(question.seq));
    term.expect(&format!(
        "<tom> [↪ #{} ada: who is around?] me!",
        question.seq
    ))
    .await;

    term.line(&format!("/react {} 👋", question.seq)).await;
    term.expect(&format!(
        "-- tom reacted 👋 to #{} <ada> who is around?",
        question.seq
    ))
    .await;
    term.line("/react 1 hello").await;
    term.expect("! a reaction is one emoji").await;

    // A guest's edit is refused, with the reason.
    term.line(&format!("/edit {} me too", answer.seq)).await;
    term.expect("! sign in to edit your messages").await;

    term.line("/search around").await;
    term.expect("-- messages matching \"around\", newest first:")
        .await;
    term.expect("<ada> who is *around*?").await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_terminal_reads_every_change_to_a_message_as_a_line() {
    let server = TestServer::start().await;
    server.register("ada").await;
    let mut ada = Client::member(&server, "ada").await;
    let mut term = Nc::login(&server, "tom").await;
    ada.say("a1", "the plan is ready").await;
    let plan = ada.next_message().await.seq;
    term.expect("<ada> the plan is ready").await;

    reply(&mut ada, "a2", "with one change", plan).await;
    term.expect(&format!(
        "<ada> [↪ #{plan} ada: the plan is ready] with one change"
    ))
    .await;
    edit(&mut ada, "a3", plan, "the plan is final").await;
    term.expect(&format!("-- ada edited #{plan}: the plan is final"))
        .await;
    react(&mut ada, plan, "🎉", false).await;
    term.expect(&format!(
        "-- ada reacted 🎉 to #{plan} <ada> the plan is final"
    ))
    .await;
    react(&mut ada, plan, "🎉", true).await;
    term.expect(&format!("-- ada took back 🎉 on #{plan}"))
        .await;
    ada.send(&ClientMsg::Delete {
        room: "lobby".into(),
        seq: plan,
    })
    .await;
    term.expect(&format!("-- ada deleted message #{plan}"))
        .await;

    // History, read again, has the reply quoting a deleted message and
    // the message as deleted, its text gone.
    term.line("/history 10").await;
    term.expect(&format!("#{plan} <ada> (deleted)")).await;
    term.expect(&format!("<ada> [↪ #{plan} ada: (deleted)] with one change"))
        .await;
    server.stop().await.unwrap();
}
