//! The conversation as a place to drop files: highlighted while files are
//! dragged over it, and whatever is dropped is shared (`ChatActions::share`).
//! Files dropped anywhere else on the page are ignored rather than opened by
//! the browser in place of the chat.

use gloo_events::{EventListener, EventListenerOptions};
use wasm_bindgen::JsCast;
use web_sys::{DataTransfer, DragEvent};
use yew::prelude::*;

use crate::actions::use_chat_actions;
use crate::upload::{Chosen, files_in};

#[derive(Properties, PartialEq)]
pub struct DropZoneProps {
    /// Where dropped files go, as people read it (`#lobby`, `bob`).
    #[prop_or_default]
    pub target: AttrValue,
    /// Whether files can be shared now (there is a nickname).
    #[prop_or(true)]
    pub enabled: bool,
    #[prop_or_default]
    pub children: Html,
}

#[component]
pub fn DropZone(props: &DropZoneProps) -> Html {
    let share = use_chat_actions().share;
    // `dragenter` and `dragleave` fire for every child the pointer crosses:
    // count them, and the zone is left when the count is back at 0.
    let depth = use_mut_ref(|| 0u32);
    let active = use_state_eq(|| false);

    use_effect_with((), |()| {
        let guards = web_sys::window().map(|window| {
            let options = EventListenerOptions::enable_prevent_default();
            ["dragover", "drop"].map(|kind| {
                EventListener::new_with_options(&window, kind, options, |event| {
                    if event
                        .dyn_ref::<DragEvent>()
                        .is_some_and(|e| carries_files(e.data_transfer()))
                    {
                        event.prevent_default();
                    }
                })
            })
        });
        move || drop(guards)
    });

    let enabled = props.enabled;
    let ondragenter = {
        let depth = depth.clone();
        let active = active.clone();
        Callback::from(move |e: DragEvent| {
            if enabled && carries_files(e.data_transfer()) {
                e.prevent_default();
                *depth.borrow_mut() += 1;
                active.set(true);
            }
        })
    };
    let ondragover = Callback::from(move |e: DragEvent| {
        if enabled
            && let Some(dt) = e
                .data_transfer()
                .filter(|dt| carries_files(Some(dt.clone())))
        {
            e.prevent_default();
            dt.set_drop_effect("copy");
        }
    });
    let ondragleave = {
        let depth = depth.clone();
        let active = active.clone();
        Callback::from(move |_: DragEvent| {
            let mut depth = depth.borrow_mut();
            *depth = depth.saturating_sub(1);
            if *depth == 0 {
                active.set(false);
            }
        })
    };
    let ondrop = {
        let active = active.clone();

        Callback::from(move |e: DragEvent| {
            *depth.borrow_mut() = 0;
            active.set(false);
            let Some(dt) = e.data_transfer() else {
                return;
            };
            if !enabled || !carries_files(Some(dt.clone())) {
                return;
            }
            e.prevent_default();
            let files: Vec<Chosen> = files_in(dt.files()).into_iter().map(Chosen::new).collect();
            if !files.is_empty() {
                share.emit(files);
            }
        })
    };

    html! {
        <div
            class={classes!("dropzone", active.then_some("dropzone--active"))}
            data-testid="drop-zone"
            data-active={active.to_string()}
            {ondragenter}
            {ondragover}
            {ondragleave}
            {ondrop}
        >
            { props.children.clone() }
            if *active {
                <div class="dropzone__overlay" aria-hidden="true">
                    <span class="dropzone__label">
                        { format!("Drop files to share them in {}", props.target) }
                    </span>
                </div>
            }
        </div>
    }
}

/// Whether a drag carries files (not text or a link from the page).
pub fn carries_files(dt: Option<DataTransfer>) -> bool {
    dt.is_some_and(|dt| dt.types().includes(&"Files".into(), 0))
}
