//! Who the person is, in the top bar: the nickname with a "signed in" mark
//! (or "guest"), and a menu to sign out (here or everywhere), or, for a
//! guest, to register the nickname or sign in to an account instead; for
//! everyone, desktop notifications on or off.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::state::Alerts;

#[derive(Properties, PartialEq)]
pub struct AccountMenuProps {
    pub nick: AttrValue,
    /// Signed in to the account of `nick` (else a guest).
    #[prop_or_default]
    pub account: bool,
    /// A registration is on its way.
    #[prop_or_default]
    pub busy: bool,
    /// Why the last registration failed.
    #[prop_or_default]
    pub error: Option<AttrValue>,
    /// Sign out; `true`: of every session of the account.
    #[prop_or_default]
    pub onsignout: Callback<bool>,
    /// A guest registers its nickname: the password and an invite code
    /// (blank: none).
    #[prop_or_default]
    pub onregister: Callback<(String, String)>,
    /// A guest leaves, to sign in to an account.
    #[prop_or_default]
    pub onsignin: Callback<()>,
    /// Desktop notifications: on, off, or what the browser allows.
    #[prop_or_default]
    pub alerts: Alerts,
    /// Turn them on or off.
    #[prop_or_default]
    pub onalerts: Callback<bool>,
}

/// A button that opens a panel below it. Escape, the button again or a
/// click outside closes it; the panel is `account-menu`.
#[component]
pub fn AccountMenu(props: &AccountMenuProps) -> Html {
    let open = use_state_eq(|| false);
    let password = use_node_ref();
    let invite = use_node_ref();

    {
        // Ready to type the password as soon as a guest opens the menu.
        let password = password.clone();
        use_effect_with(*open, move |open| {
            if *open && let Some(el) = password.cast::<HtmlInputElement>() {
                let _ = el.focus();
            }
        });
    }

    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    let close = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(false))
    };
    let onkeydown = {
        let open = open.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                open.set(false);
            }
        })
    };
    let sign_out = |everywhere: bool| {
        let open = open.clone();
        props.onsignout.reform(move |_: MouseEvent| {
            open.set(false);
            everywhere
        })
    };
    let onsubmit = {
        let (password, invite) = (password.clone(), invite.clone());
        let emit = props.onregister.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let read = |input: &NodeRef| {
                input
                    .cast::<HtmlInputElement>()
                    .map(|el| el.value())
                    .unwrap_or_default()
            };
            emit.emit((read(&password), read(&invite)));
        })
    };
    let switch = {
        let open = open.clone();
        props.onsignin.reform(move |_: MouseEvent| open.set(false))
    };

    let on = props.alerts == Alerts::On;
    let alerts = match props.alerts {
        Alerts::Unavailable => html! {},
        Alerts::Blocked => html! {
            <p class="account__detail" data-testid="notify-blocked">
                { "Notifications are blocked in this browser's site settings." }
            </p>
        },
        Alerts::Off | Alerts::On => html! {
            <button
                type="button"
                class="account__item"
                data-testid="notify-toggle"
                aria-pressed={if on { "true" } else { "false" }}
                onclick={props.onalerts.reform(move |_: MouseEvent| !on)}
            >
                { if on { "Notifications: on" } else { "Notifications: off" } }
                <span class="account__detail">{ "mentions and direct messages, when away" }</span>
            </button>
        },
    };

    let nick = props.nick.clone();
    let mark = if props.account { "signed in" } else { "guest" };
    let panel = if props.account {
        html! {
            <div class="account__panel" data-testid="account-menu" role="group" aria-label="Account">
                <p class="account__who">
                    { "Signed in as " }<strong>{ nick.clone() }</strong>
                </p>
                { alerts }
                <button type="button" class="account__item" data-testid="sign-out" onclick={sign_out(false)}>
                    { "Sign out" }
                </button>
                <button
                    type="button"
                    class="account__item"
                    data-testid="sign-out-everywhere"
                    onclick={sign_out(true)}
                >
                    { "Sign out everywhere" }
                    <span class="account__detail">{ "every browser and device" }</span>
                </button>
            </div>
        }
    } else {
        let invalid = props.error.is_some().then_some("true");
        html! {
            <div class="account__panel" data-testid="account-menu" role="group" aria-label="Account">
                <p class="account__who">
                    { "You are a guest: " }<strong>{ nick.clone() }</strong>
                    { " is yours while you are here." }
                </p>
                { alerts }
                <form class="account__form" {onsubmit} novalidate=true>
                    <label class="field" for="register-password">
                        <span class="field__label">{ format!("Register {nick} with a password") }</span>
                        <input
                            ref={password}
                            id="register-password"
                            data-testid="register-password"
                            type="password"
                            autocomplete="new-password"
                            aria-invalid={invalid}
                            aria-describedby={invalid.map(|_| "account-error")}
                        />
                    </label>
                    <label class="field" for="register-invite">
                        <span class="field__label">
                            { "Invite code " }
                            <span class="field__optional">{ "(if needed)" }</span>
                        </span>
                        <input
                            ref={invite}
                            id="register-invite"
                            data-testid="register-invite"
                            type="text"
                            autocomplete="off"
                            autocapitalize="off"
                            spellcheck="false"
                        />
                    </label>
                    if let Some(error) = &props.error {
                        <p id="account-error" class="error" data-testid="account-error" role="alert">
                            { error.clone() }
                        </p>
                    }
                    <button
                        type="submit"
                        class="button"
                        data-testid="register-submit"
                        disabled={props.busy}
                        aria-busy={props.busy.then_some("true")}
                    >
                        { if props.busy { "Registering…" } else { "Register" } }
                    </button>
                </form>
                <button type="button" class="account__item" data-testid="switch-account" onclick={switch}>
                    { "Sign in to an account instead" }
                </button>
            </div>
        }
    };

    html! {
        <div class="account" {onkeydown}>
            <button
                type="button"
                class="account__button"
                data-testid="account-button"
                data-account={if props.account { "true" } else { "false" }}
                aria-expanded={if *open { "true" } else { "false" }}
                aria-haspopup="true"
                title={format!("{nick} ({mark})")}
                onclick={toggle}
            >
                <span class="account__nick">{ nick.clone() }</span>
                <span class="account__mark" data-testid="account-state">
                    if props.account {
                        <span aria-hidden="true">{ "✓ " }</span>
                    }
                    <span class="account__mark-text">{ mark }</span>
                </span>
            </button>
            if *open {
                <div class="account__backdrop" onclick={close}></div>
                { panel }
            }
        </div>
    }
}
