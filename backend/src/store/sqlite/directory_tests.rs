//! The directory in a real SQLite file: accounts, sessions that expire and
//! end, invites good once, and moderation that outlives a restart.

use shared::{Moderation, Role};

use crate::store::directory::{
    Change, Directory, NewAccount, Record, Sanction, SanctionKind, Subject,
};
use crate::store::{SqliteStore, StoreError};

fn now() -> i64 {
    crate::accounts::now_ms()
}

fn account(nick: &str, session: &str, expires: i64) -> NewAccount {
    NewAccount {
        nick: nick.to_owned(),
        nick_key: shared::validate::nick_key(nick),
        password_hash: format!("$argon2id$for-{nick}"),
        session: session.to_owned(),
        expires,
        invite: None,
    }
}

fn record(room: &str, action: Moderation, change: Change) -> Record {
    Record {
        room: room.to_owned(),
        by: "ada".to_owned(),
        ts: now(),
        action,
        change,
    }
}

#[tokio::test]
async fn sessions_sign_in_until_they_expire_or_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let day = 86_400_000;
    let ada = store
        .register(account("Ada", "s-first", now() + day))
        .await
        .unwrap();
    let found = store
        .account(&shared::validate::nick_key("ADA"))
        .await
        .unwrap();
    assert_eq!(found.map(|a| (a.id, a.nick)), Some((ada, "Ada".to_owned())));
    assert!(matches!(
        store.register(account("ada", "s-other", now() + day)).await,
        Err(StoreError::Taken)
    ));

    let session = store
        .session("s-first".into(), now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((session.account, session.nick.as_str()), (ada, "Ada"));
    assert_eq!(
        store.session("s-nothing".into(), now()).await.unwrap(),
        None
    );
    // Expired: as good as none, though the row is still there.
    store
        .open_session(ada, "s-short".into(), now() + 50)
        .await
        .unwrap();
    assert!(
        store
            .session("s-short".into(), now())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.session("s-short".into(), now() + 60).await.unwrap(),
        None
    );

    store
        .open_session(ada, "s-second".into(), now() + day)
        .await
        .unwrap();
    store.close_session("s-first".into()).await.unwrap();
    assert_eq!(store.session("s-first".into(), now()).await.unwrap(), None);
    assert!(
        store
            .session("s-second".into(), now())
            .await
            .unwrap()
            .is_some()
    );
    store.close_sessions(ada).await.unwrap();
    assert_eq!(store.session("s-second".into(), now()).await.unwrap(), None);
}

#[tokio::test]
async fn an_invite_registers_once_and_not_after_it_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let hour = 3_600_000;
    let root = store
        .register(account("root", "s-root", now() + hour))
        .await
        .unwrap();
    store
        .create_invite("code-1".into(), root, now() + hour)
        .await
        .unwrap();
    store
        .create_invite("code-old".into(), root, now() - 1)
        .await
        .unwrap();
    let invited = |nick: &str, code: &str| NewAccount {
        invite: Some(code.to_owned()),
        ..account(nick, &format!("s-{nick}"), now() + hour)
    };
    store.register(invited("bea", "code-1")).await.unwrap();
    for (nick, code) in [("cid", "code-1"), ("dee", "code-old"), ("eve", "code-none")] {
        assert!(
            matches!(
                store.register(invited(nick, code)).await,
                Err(StoreError::InviteInvalid)
            ),
            "{code}"
        );
        assert_eq!(
            store.account(nick).await.unwrap(),
            None,
            "a refused registration leaves no account"
        );
    }
}

#[tokio::test]
async fn moderation_is_in_the_snapshot_after_a_restart_until_it_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let bob;
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        bob = store
            .register(account("bob", "s-bob", now() + 60_000))
            .await
            .unwrap();
        let changes = [
            record(
                "den",
                Moderation::Role {
                    target: "bob".into(),
                    role: Role::Moderator,
                },
                Change::Role {
                    room: "den".into(),
                    account: bob,
                    role: Role::Moderator,
                },
            ),
            record(
                "den",
                Moderation::Topic {
                    topic: "quiet".into(),
                },
                Change::Settings {
                    room: "den".into(),
                    topic: "quiet".into(),
                    slow: 5,
                },
            ),
            record(
                "den",
                Moderation::Ban {
                    target: "gus".into(),
                    until: Some(now() + 60_000),
                    reason: None,
                },
                Change::Sanction(Sanction {
                    room: "den".into(),
                    kind: SanctionKind::Ban,
                    subject: Subject::Address("192.0.2.7".parse().unwrap()),
                    nick_key: "gus".into(),
                    until: Some(now() + 60_000),
                }),
            ),
            record(
                "den",
                Moderation::Mute {
                    target: "bob".into(),
                    until: Some(now() - 1),
                    reason: None,
                },
                Change::Sanction(Sanction {
                    room: "den".into(),
                    kind: SanctionKind::Mute,
                    subject: Subject::Account(bob),
                    nick_key: "bob".into(),
                    until: Some(now() - 1),
                }),
            ),
        ];
        for change in changes {
            store.record(change).await.unwrap();
        }
    }
    // The mute has run out already: a snapshot leaves it out.
    let store = SqliteStore::open(dir.path()).unwrap();
    let snapshot = store.snapshot().await.unwrap();
    assert_eq!(
        snapshot.accounts,
        vec![(bob, "bob".to_owned(), "bob".to_owned())]
    );
    assert_eq!(
        snapshot.roles,
        vec![("den".to_owned(), bob, Role::Moderator)]
    );
    assert_eq!(
        snapshot.settings,
        vec![("den".to_owned(), "quiet".to_owned(), 5)]
    );
    assert_eq!(snapshot.sanctions.len(), 1, "{:?}", snapshot.sanctions);
    assert_eq!(snapshot.sanctions[0].kind, SanctionKind::Ban);

    // Lifting the ban by the nickname it was given under.
    store
        .record(record(
            "den",
            Moderation::Unban {
                target: "gus".into(),
            },
            Change::Lift {
                room: "den".into(),
                kind: SanctionKind::Ban,
                nick_key: "gus".into(),
                account: None,
            },
        ))
        .await
        .unwrap();
    assert!(store.snapshot().await.unwrap().sanctions.is_empty());
    let log = store.log("den", None, 10).await.unwrap();
    assert_eq!(log.len(), 5);
    assert!(
        matches!(log[0].action, Moderation::Unban { .. }),
        "newest first"
    );
    let older = store.log("den", Some(log[1].id), 10).await.unwrap();
    assert_eq!(older.len(), 3);
    assert!(store.log("elsewhere", None, 10).await.unwrap().is_empty());
}
