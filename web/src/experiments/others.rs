//! 8. Other clients: the tutorial's Python client or `nc`, seen from the server.

use super::{Block, Line};
use crate::i18n::Catalog;
use crate::model::Model;
use crate::present::{bytes, quote};
use protocol::{ServerSide, Transport};

pub(crate) fn results(m: &Model, c: &Catalog) -> Vec<Block> {
    let x = c.x;
    if !m.shows_others() {
        return vec![Block {
            title: x.others_title.into(),
            lines: vec![Line::new("info", x.others_off)],
        }];
    }
    let mut tries = vec![];
    if let Some((tcp, udp)) = m.servers() {
        tries.push(format!("nc {} {}", tcp.ip(), tcp.port()));
        tries.push(format!("nc -u {} {}", udp.ip(), udp.port()));
    }
    let head = vec![
        Line::new("info", x.others_on).chips(tries),
        Line::new("info", x.others_try),
    ];
    let mut calls: Vec<Line> = m
        .facts()
        .others()
        .map(|call| {
            let proto = match call.transport {
                Transport::Tcp => "TCP",
                Transport::Udp => "UDP",
            };
            let (what, data) = match &call.op {
                ServerSide::Accept { .. } => ("accept()".to_string(), None),
                ServerSide::Recv { data } => {
                    (format!("recv(1024) → {}", bytes(data.len())), Some(data))
                }
                ServerSide::Send { len } => (format!("send() {}", bytes(*len)), None),
                ServerSide::Close { .. } => ("close()".to_string(), None),
                ServerSide::RecvFrom { data, .. } => (
                    format!("recvfrom(1024) → {}", bytes(data.len())),
                    Some(data),
                ),
                ServerSide::SendTo { len, .. } => (format!("sendto() {}", bytes(*len)), None),
                ServerSide::Message { data } => {
                    (format!("message {}", bytes(data.len())), Some(data))
                }
            };
            let chips = data.map(|d| vec![quote(&d.0)]).unwrap_or_default();
            Line::new("ok", format!("{proto} {} {what}", call.client)).chips(chips)
        })
        .collect();
    if calls.is_empty() {
        calls.push(Line::new("wait", x.others_none));
    }
    vec![
        Block {
            title: x.others_title.into(),
            lines: head,
        },
        Block {
            title: c.side_server.into(),
            lines: calls,
        },
    ]
}
