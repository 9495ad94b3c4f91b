//! Who is in the room, owners and moderators first with their badges; for
//! a moderator, a menu for each member they may moderate: kick, mute or ban
//! (for an hour, a day or for good, with an optional reason), lift a mute,
//! and for owners make or unmake a moderator. What each choice sends is
//! `moderation::member_command`'s; it goes to `ChatActions::command`.

use std::rc::Rc;

use shared::protocol::{Role, RoomSettings};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::actions::use_chat_actions;
use crate::moderation::{MemberAction, badge, member_command, member_order, menu, role_of};

#[derive(Properties, PartialEq)]
pub struct OnlineListProps {
    pub members: Vec<String>,
    /// The person using this client, marked in the list.
    #[prop_or_default]
    pub me: Option<String>,
    /// The room on screen, which the moderation menu acts in.
    #[prop_or_default]
    pub room: AttrValue,
    /// Its roles (and the rest of its settings).
    #[prop_or_default]
    pub settings: Rc<RoomSettings>,
    /// A conversation of two: nobody moderates it.
    #[prop_or_default]
    pub direct: bool,
}

/// Each entry carries `data-nick` and `data-role`; a member the person may
/// moderate is a button (`member-button`) that opens their `member-menu`
/// (one at a time; Escape or its × closes it).
#[component]
pub fn OnlineList(props: &OnlineListProps) -> Html {
    let actions = use_chat_actions();
    let open = use_state_eq(|| None::<String>);
    let reason = use_node_ref();
    {
        // Keyboard users land in the menu they opened.
        let reason = reason.clone();
        use_effect_with((*open).clone(), move |open| {
            if open.is_some()
                && let Some(el) = reason.cast::<HtmlInputElement>()
            {
                el.set_value("");
                let _ = el.focus();
            }
        });
    }
    let roles = &props.settings.roles;
    let members = member_order(&props.members, roles);
    let me = props.me.as_deref();
    let mine = match me {
        Some(me) if !props.direct => role_of(roles, me),
        _ => Role::Member,
    };
    let close = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(None))
    };
    let onkeydown = {
        let open = open.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                open.set(None);
            }
        })
    };
    let menu_for = |nick: &str, choices: Vec<MemberAction>| {
        let choose = |action: MemberAction| {
            let (room, nick, reason) = (props.room.clone(), nick.to_owned(), reason.clone());
            let (command, open) = (actions.command.clone(), open.clone());
            Callback::from(move |_: MouseEvent| {
                let why = reason
                    .cast::<HtmlInputElement>()
                    .map(|el| el.value())
                    .unwrap_or_default();
                command.emit(member_command(action, &room, &nick, &why));
                open.set(None);
            })
        };
        let button = |choice: MemberAction| {
            let (label, testid) = choice.label();
            html! {
                <button
                    type="button"
                    class={if matches!(choice, MemberAction::Ban(_)) {
                        "member-menu__action member-menu__action--danger"
                    } else {
                        "member-menu__action"
                    }}
                    data-testid={testid}
                    aria-label={choice.spoken(nick)}
                    onclick={choose(choice)}
                >
                    { label }
                </button>
            }
        };
        html! {
            <div
                class="member-menu"
                data-testid="member-menu"
                role="group"
                aria-label={format!("Moderate {nick}")}
                onkeydown={onkeydown.clone()}
            >
                <div class="member-menu__head">
                    <strong class="member-menu__nick">{ nick.to_owned() }</strong>
                    <button
                        type="button"
                        class="member-menu__close"
                        aria-label="Close"
                        onclick={close.clone()}
                    >
                        { "×" }
                    </button>
                </div>
                <label class="field">
                    <span class="field__label">
                        { "Reason " }<span class="field__optional">{ "(optional)" }</span>
                    </span>
                    <input ref={reason.clone()} type="text" data-testid="mod-reason" maxlength="200" />
                </label>
                <div class="member-menu__row">
                    { for choices.iter().filter(|c| matches!(c, MemberAction::Kick | MemberAction::Unmute)).map(|c| button(*c)) }
                </div>
                <span class="member-menu__label" aria-hidden="true">{ "Mute for" }</span>
                <div class="member-menu__row">
                    { for choices.iter().filter(|c| matches!(c, MemberAction::Mute(_))).map(|c| button(*c)) }
                </div>
                <span class="member-menu__label" aria-hidden="true">{ "Ban for" }</span>
                <div class="member-menu__row">
                    { for choices.iter().filter(|c| matches!(c, MemberAction::Ban(_))).map(|c| button(*c)) }
                </div>
                { for choices.iter().filter(|c| matches!(c, MemberAction::Promote | MemberAction::Demote)).map(|c| button(*c)) }
            </div>
        }
    };

    html! {
        <section class="online" aria-label="Online">
            <h2 class="online__title">
                { "Online " }<span class="online__count">{ members.len() }</span>
            </h2>
            <ul class="online__list" data-testid="online-list">
                { for members.into_iter().map(|nick| {
                    let myself = Some(nick) == me;
                    let role = role_of(roles, nick);
                    let choices = if myself { Vec::new() } else { menu(mine, role) };
                    let shown = open.as_deref() == Some(nick);
                    let name = if choices.is_empty() {
                        html! { <span class="online__name">{ nick }</span> }
                    } else {
                        let open = open.clone();
                        let who = nick.to_owned();
                        let onclick = Callback::from(move |_: MouseEvent| {
                            open.set((!shown).then(|| who.clone()));
                        });
                        html! {
                            <button
                                type="button"
                                class="online__name online__name--button"
                                data-testid="member-button"
                                aria-expanded={if shown { "true" } else { "false" }}
                                title={format!("Moderate {nick}")}
                                {onclick}
                            >
                                { nick }
                            </button>
                        }
                    };
                    html! {
                        <li
                            key={nick}
                            class={if myself { "online__member online__member--me" } else { "online__member" }}
                            title={myself.then_some("you")}
                            data-nick={nick.to_owned()}
                            data-role={role_name(role)}
                        >
                            { name }
                            if let Some(badge) = badge(role) {
                                <span class="sr-only">{ ", " }</span>
                                <span class="badge">
                                    { badge }
                                </span>
                            }
                            if shown {
                                { menu_for(nick, choices) }
                            }
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}

/// The role's name in `data-role` and CSS.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::Moderator => "moderator",
        Role::Owner => "owner",
        Role::Operator => "operator",
    }
}
