//! The views, one component per file. Each renders its props and reports what
//! the person did: to the chat's callbacks in the `ChatActions` context
//! (`crate::actions`), or through its own `on*` props for events that are its
//! alone. None of them knows about the socket (that is `connection`'s job),
//! so each can be mounted alone in a test, with a provider of recording
//! callbacks where the test listens.

mod account_menu;
mod attach_button;
mod attachment_view;
mod composer;
mod connection_status;
mod day_separator;
mod drop_zone;
mod message_list;
mod message_view;
mod nick_prompt;
mod online_list;
mod room_head;
mod room_list;
mod search;
mod typing_line;
mod upload_list;

pub use account_menu::{AccountMenu, AccountMenuProps};
pub use attach_button::{AttachButton, AttachButtonProps};
pub use attachment_view::{AttachmentView, AttachmentViewProps, badge, is_plain_id};
pub use composer::{Composer, ComposerProps};
pub use connection_status::{ConnectionStatus, ConnectionStatusProps};
pub use day_separator::{DaySeparator, DaySeparatorProps};
pub use drop_zone::{DropZone, DropZoneProps};
pub use message_list::{MessageList, MessageListProps, PAGE, WINDOW};
pub use message_view::{MessageView, MessageViewProps};
pub use nick_prompt::{NickPrompt, NickPromptProps};
pub use online_list::{OnlineList, OnlineListProps};
pub use room_head::{RoomHead, RoomHeadProps};
pub use room_list::{RoomList, RoomListProps, RoomTab};
pub use search::search_bar;
pub use typing_line::{TypingLine, TypingLineProps};
pub use upload_list::{UploadList, UploadListProps};
