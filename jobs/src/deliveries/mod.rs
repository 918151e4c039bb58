//! Deliveries: events sent to the places a tenant chose (webhooks, Slack, Discord, Telegram,
//! email). [`channels`] speaks each service's protocol and says honestly what happened;
//! [`render`] turns an event into each service's message. Neither stores or schedules anything.

pub mod channels;
pub mod render;
