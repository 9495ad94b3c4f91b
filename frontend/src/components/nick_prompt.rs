//! The form shown before the chat: a nickname for this visit (guest), or
//! signing in to an account, or registering one.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::state::{AuthMode, Entry};

#[derive(Properties, PartialEq)]
pub struct NickPromptProps {
    /// What the nickname field starts with: a remembered or refused
    /// nickname, or the account just signed out of.
    #[prop_or_default]
    pub initial: AttrValue,
    /// A nickname (or a sign-in) is on its way to the server.
    #[prop_or_default]
    pub busy: bool,
    /// Why the last attempt was refused.
    #[prop_or_default]
    pub error: Option<AttrValue>,
    /// Something to say that is not a refusal ("You signed out.").
    #[prop_or_default]
    pub note: Option<AttrValue>,
    /// Guest, sign in or register.
    #[prop_or_default]
    pub mode: AuthMode,
    /// The person chose another way in.
    #[prop_or_default]
    pub onmode: Callback<AuthMode>,
    /// What was typed; checking it is the receiver's business.
    pub onsubmit: Callback<Entry>,
}

/// Three ways in, one form: the nickname field stays (a guest's nickname is
/// also an account's name), a password field joins it to sign in or
/// register, and an invite code field to register. Enter in any field
/// submits. Refusals appear under the fields, linked to them for screen
/// readers.
#[component]
pub fn NickPrompt(props: &NickPromptProps) -> Html {
    let value = use_state(|| props.initial.to_string());
    let nick_input = use_node_ref();
    let password_input = use_node_ref();
    let invite_input = use_node_ref();
    let mode = props.mode;

    {
        // Ready to type where the next answer goes: the password, once a
        // nickname is there.
        let (nick_input, password_input) = (nick_input.clone(), password_input.clone());
        let has_nick = !value.is_empty();
        use_effect_with(mode, move |mode| {
            let target = if *mode != AuthMode::Guest && has_nick {
                password_input
            } else {
                nick_input
            };
            if let Some(el) = target.cast::<HtmlInputElement>() {
                let _ = el.focus();
            }
        });
    }

    let oninput = {
        let value = value.clone();
        Callback::from(move |e: InputEvent| {
            value.set(e.target_unchecked_into::<HtmlInputElement>().value());
        })
    };
    let onsubmit = {
        let (nick_input, password_input, invite_input) = (
            nick_input.clone(),
            password_input.clone(),
            invite_input.clone(),
        );
        let value = value.clone();
        let emit = props.onsubmit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            // The fields themselves are the truth: a submit can overtake the
            // re-render that follows typing.
            let read = |input: &NodeRef| {
                input
                    .cast::<HtmlInputElement>()
                    .map(|el| el.value())
                    .unwrap_or_default()
            };
            let nick = nick_input
                .cast::<HtmlInputElement>()
                .map_or_else(|| (*value).clone(), |el| el.value());
            emit.emit(Entry {
                mode,
                nick,
                password: read(&password_input),
                invite: read(&invite_input),
            });
        })
    };

    let (title, hint, submit, busy) = match mode {
        AuthMode::Guest => (
            "Pick a nickname",
            "No account needed: the nickname is yours while you are here.",
            "Join",
            "Joining…",
        ),
        AuthMode::SignIn => (
            "Sign in",
            "Your registered nickname and its password.",
            "Sign in",
            "Signing in…",
        ),
        AuthMode::Register => (
            "Create an account",
            "Keep your nickname: nobody else can use it, on any device.",
            "Create account",
            "Creating the account…",
        ),
    };
    let tab = |this: AuthMode, label: &'static str, testid: &'static str| {
        let pressed = this == mode;
        html! {
            <button
                type="button"
                class="segmented__option"
                aria-pressed={if pressed { "true" } else { "false" }}
                data-testid={testid}
                onclick={props.onmode.reform(move |_: MouseEvent| this)}
            >
                { label }
            </button>
        }
    };
    let invalid = props.error.is_some().then_some("true");
    let described = props.error.is_some().then_some("nick-error");

    html! {
        <form
            class="nick-prompt"
            {onsubmit}
            novalidate=true
            aria-labelledby="nick-prompt-title"
            data-testid="nick-prompt"
            data-mode={match mode {
                AuthMode::Guest => "guest",
                AuthMode::SignIn => "sign-in",
                AuthMode::Register => "register",
            }}
        >
            <h2 class="nick-prompt__title" id="nick-prompt-title">{ title }</h2>
            <p class="nick-prompt__hint">{ hint }</p>
            <div class="segmented" role="group" aria-label="How to join">
                { tab(AuthMode::Guest, "Guest", "auth-guest") }
                { tab(AuthMode::SignIn, "Sign in", "auth-sign-in") }
                { tab(AuthMode::Register, "Register", "auth-register") }
            </div>
            <label class="field" for="nick-input">
                <span class="field__label">{ "Nickname" }</span>
                <input
                    ref={nick_input}
                    id="nick-input"
                    data-testid="nick-input"
                    type="text"
                    placeholder="nickname"
                    autocomplete={if mode == AuthMode::Guest { "nickname" } else { "username" }}
                    autocapitalize="off"
                    spellcheck="false"
                    autofocus=true
                    aria-invalid={invalid}
                    aria-describedby={described}
                    value={(*value).clone()}
                    {oninput}
                />
            </label>
            if mode != AuthMode::Guest {
                <label class="field" for="password-input">
                    <span class="field__label">{ "Password" }</span>
                    <input
                        ref={password_input}
                        id="password-input"
                        data-testid="password-input"
                        type="password"
                        autocomplete={if mode == AuthMode::Register { "new-password" } else { "current-password" }}
                        aria-invalid={invalid}
                        aria-describedby={described}
                    />
                </label>
            }
            if mode == AuthMode::Register {
                <label class="field" for="invite-input">
                    <span class="field__label">
                        { "Invite code " }
                        <span class="field__optional">{ "(if registration needs one)" }</span>
                    </span>
                    <input
                        ref={invite_input}
                        id="invite-input"
                        data-testid="invite-input"
                        type="text"
                        autocomplete="off"
                        autocapitalize="off"
                        spellcheck="false"
                    />
                </label>
            }
            if let Some(error) = &props.error {
                <p id="nick-error" class="error" data-testid="nick-error" role="alert">{ error.clone() }</p>
            } else if let Some(note) = &props.note {
                <p class="nick-prompt__note" data-testid="prompt-note" role="status">{ note.clone() }</p>
            }
            <button
                type="submit"
                class="button nick-prompt__submit"
                data-testid="nick-submit"
                disabled={props.busy}
                aria-busy={props.busy.then_some("true")}
            >
                { if props.busy { busy } else { submit } }
            </button>
        </form>
    }
}
