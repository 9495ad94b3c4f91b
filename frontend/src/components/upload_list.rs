//! The files the person is sharing in this room: a row each with a progress
//! bar and its percentage, a cancel button while it runs, and what became of
//! it (the server's reason when it was refused). Cancelling and closing go to
//! `ChatActions::cancel_upload` and `ChatActions::dismiss_upload`.

use yew::prelude::*;

use crate::actions::{ChatActions, use_chat_actions};
use crate::filesize::human_size;
use crate::state::{Upload, UploadStatus};

#[derive(Properties, PartialEq)]
pub struct UploadListProps {
    pub uploads: Vec<Upload>,
}

#[component]
pub fn UploadList(props: &UploadListProps) -> Html {
    let actions = use_chat_actions();
    if props.uploads.is_empty() {
        return html! {};
    }
    html! {
        <ul class="uploads" data-testid="uploads" aria-label="Uploads">
            { for props.uploads.iter().map(|u| row(u, &actions)) }
        </ul>
    }
}

fn row(upload: &Upload, actions: &ChatActions) -> Html {
    let id = upload.id;
    let percent = upload.percent();
    let (status, state) = match &upload.status {
        UploadStatus::Uploading if percent == 100 => ("finishing…".to_owned(), "uploading"),
        UploadStatus::Uploading => (String::new(), "uploading"),
        UploadStatus::Done { .. } => ("shared".to_owned(), "done"),
        UploadStatus::Failed(why) => (why.clone(), "failed"),
        UploadStatus::Cancelled { .. } => ("cancelled".to_owned(), "cancelled"),
    };
    let failed = matches!(upload.status, UploadStatus::Failed(_));
    let (act, testid, label, text) = if upload.status == UploadStatus::Uploading {
        let label = format!("Cancel uploading {}", upload.name);
        (&actions.cancel_upload, "upload-cancel", label, "Cancel")
    } else {
        (
            &actions.dismiss_upload,
            "upload-dismiss",
            format!("Close {}", upload.name),
            "Close",
        )
    };
    let onclick = act.reform(move |_: MouseEvent| id);
    let action = html! {
        <button
            type="button"
            class="link-button upload__action"
            data-testid={testid}
            aria-label={label}
            {onclick}
        >
            { text }
        </button>
    };
    html! {
        <li
            key={id}
            class={classes!("upload", format!("upload--{state}"))}
            data-testid="upload"
            data-status={state}
        >
            <span class="upload__name">{ upload.name.clone() }</span>
            <span class="upload__size">{ human_size(upload.size) }</span>
            if failed {
                <span class="upload__reason" role="alert" data-testid="upload-reason">
                    { status }
                </span>
            } else {
                <progress
                    class="upload__bar"
                    max="100"
                    value={percent.to_string()}
                    aria-label={format!("Uploading {}", upload.name)}
                />
                <span class="upload__percent" data-testid="upload-percent">
                    { format!("{percent}%") }
                </span>
                <span class="upload__status">{ status }</span>
            }
            { action }
        </li>
    }
}
