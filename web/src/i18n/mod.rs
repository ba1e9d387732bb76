//! Every string the console shows, in one catalog per language.
//!
//! The catalog is a struct, so a language that misses a string does not compile: "every key
//! exists in both languages" is checked by the compiler, not by hope. Strings with values in
//! them use `{name}` placeholders, filled by [`fill`].

use protocol::ErrorCode;

mod exp;
pub(crate) mod glossary;
mod wire;

pub(crate) use wire::Wire;

/// The console's languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    ZhCn,
}

impl Lang {
    /// Picks a language from a tag like "zh-CN", "zh", "en-US"; unknown tags get English.
    pub(crate) fn from_tag(tag: &str) -> Lang {
        if tag.to_ascii_lowercase().starts_with("zh") {
            Lang::ZhCn
        } else {
            Lang::En
        }
    }

    pub(crate) fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    pub(crate) fn catalog(self) -> &'static Catalog {
        match self {
            Lang::En => &EN,
            Lang::ZhCn => &ZH_CN,
        }
    }
}

/// One language's strings.
pub(crate) struct Catalog {
    pub title: &'static str,
    pub message: &'static str,
    pub message_placeholder: &'static str,
    pub send_tcp: &'static str,
    pub send_udp: &'static str,
    pub tcp_group: &'static str,
    /// The IP version switch.
    pub family: &'static str,
    /// {n}: a number of seconds.
    pub seconds: &'static str,
    pub minutes: &'static str,
    /// {n}: log lines older than the ones shown.
    pub log_older: &'static str,
    /// {tcp} {udp}: the same servers over IPv6.
    pub servers6: &'static str,
    /// After the servers when the bridge serves no IPv6 (why the IPv6 choice is disabled).
    pub servers_no6: &'static str,
    pub connect: &'static str,
    pub close: &'static str,
    pub log: &'static str,
    pub clear: &'static str,
    pub tcp_idle: &'static str,
    pub tcp_connecting: &'static str,
    /// {local} {peer}
    pub tcp_open: &'static str,
    /// {state}
    pub kernel_state: &'static str,
    pub udp_note: &'static str,
    /// {url}
    pub bridge_connecting: &'static str,
    /// {url}
    pub bridge_open: &'static str,
    /// {url} {seconds}
    pub bridge_retrying: &'static str,
    pub bridge_refused_per_address: &'static str,
    pub bridge_refused_full: &'static str,
    pub bridge_refused_origin: &'static str,
    pub bridge_refused_no_upgrade: &'static str,
    pub bridge_howto: &'static str,
    /// {tcp} {udp}
    pub servers: &'static str,
    pub side_client: &'static str,
    pub side_server: &'static str,
    pub side_bridge: &'static str,
    /// {us}
    pub ev_connected: &'static str,
    /// {peer}
    pub ev_accept: &'static str,
    /// {n}
    pub ev_tcp_sent: &'static str,
    /// {n}
    pub ev_server_recv: &'static str,
    /// {n}
    pub ev_server_send: &'static str,
    /// {n}
    pub ev_tcp_echo: &'static str,
    /// {us}
    pub rtt: &'static str,
    pub ev_closing: &'static str,
    pub ev_server_close_eof: &'static str,
    /// {error}
    pub ev_server_close_error: &'static str,
    pub ev_closed_by_client: &'static str,
    pub ev_closed_by_server: &'static str,
    /// {n}
    pub ev_udp_sent: &'static str,
    /// `send()` on a UDP socket that was `connect()`ed first.
    pub ev_udp_sent_connected: &'static str,
    /// {n} {peer}
    pub ev_server_recvfrom: &'static str,
    /// {n} {peer}
    pub ev_server_sendto: &'static str,
    /// {n}
    pub ev_udp_echo: &'static str,
    /// {size} {lost}
    pub ev_truncated: &'static str,
    /// {n}
    pub ev_server_message: &'static str,
    /// {seconds}
    pub ev_no_reply: &'static str,
    pub ev_udp_closed: &'static str,
    /// {message}
    pub ev_error: &'static str,
    /// {url}
    pub ev_bridge_up: &'static str,
    /// {url}
    pub ev_bridge_down: &'static str,
    pub ev_no_bridge: &'static str,
    /// {n} {max}
    pub ev_too_large: &'static str,
    pub ev_out_of_range: &'static str,
    /// {reason}
    pub ev_bad_frame: &'static str,
    /// {file} {error}: the browser could not read a picked file (`error` is the browser's
    /// error name, e.g. NotReadableError).
    pub ev_file_unreadable: &'static str,
    /// {error}: the browser refused to send on the WebSocket.
    pub ev_send_failed: &'static str,
    /// {url} {error}: the browser refused to open the WebSocket (e.g. a malformed URL).
    pub ev_open_failed: &'static str,
    /// {errno} {text}: a kernel error's name and what it means.
    pub errno_text: &'static str,
    /// {seconds}: the server closed a connection that sent nothing for that long.
    pub ev_server_close_idle: &'static str,
    /// The server closed first (told to): its FIN goes out before the client's.
    pub ev_server_close_active: &'static str,
    pub ev_server_close_waited: &'static str,
    /// {n} {size}: the kernel dropped datagrams at a UDP server whose buffer was full.
    pub ev_udp_dropped: &'static str,
    /// {minutes}: the bridge closed an idle session.
    pub ev_session_idle: &'static str,
    /// {minutes}: the status line while an idle session is closed.
    pub bridge_idle: &'static str,
    pub bridge_lazy: &'static str,
    /// ": " in English, "：" in Chinese (between a label and what it labels).
    pub colon: &'static str,
    /// The status line while a recording plays: never presented as live.
    pub replay_status: &'static str,
    pub replay_paused: &'static str,
    pub replay_cut: &'static str,
    pub replay_play: &'static str,
    pub replay_pause: &'static str,
    /// Once the recording ended: play it from the start.
    pub replay_again: &'static str,
    pub replay_step: &'static str,
    pub replay_speed: &'static str,
    pub save_recording: &'static str,
    pub ev_not_live: &'static str,
    pub ev_replay: &'static str,
    pub ev_replay_unreachable: &'static str,
    pub ev_replay_failed: &'static str,
    /// Why a recording's URL could not be fetched, when the browser does not say.
    pub replay_unfetchable: &'static str,
    pub ev_replay_ended: &'static str,
    /// The bridge closed the WebSocket because a frame was too large (1009).
    pub ev_frame_too_big: &'static str,
    /// {code}: the bridge closed the WebSocket for another reason.
    pub ev_bridge_closed: &'static str,
    /// The experiments' strings.
    pub x: &'static exp::Exp,
    /// The wire view's strings.
    pub w: &'static wire::Wire,
    /// The catalog's language.
    pub lang: Lang,
    /// Show the bridge's own (English) error messages; otherwise describe the error's code.
    pub bridge_text: bool,
    /// When `bridge_text` is false: an error's meaning with the bridge's words beside it.
    pub error_detail: &'static str,
    /// The bridge's words for a lab server's option in its `bind()` failure ("bind() 127.0.0.1:9
    /// without SO_REUSEADDR failed"), said in this language in the detail.
    pub reuse_with: &'static str,
    pub reuse_without: &'static str,
    /// The meaning of a common errno name in this language.
    pub errno_meaning: fn(&str) -> Option<&'static str>,
    /// What an error code means, in this language.
    pub error: fn(ErrorCode) -> &'static str,
}

pub(crate) static EN: Catalog = Catalog {
    title: "Socket Lab",
    message: "Message",
    message_placeholder: "type a message, e.g. hello socket",
    send_tcp: "Send via TCP",
    send_udp: "Send via UDP",
    tcp_group: "TCP connection",
    family: "IP version",
    seconds: "{n} s",
    minutes: "{n} min",
    log_older: "{n} earlier lines are not shown here (the timeline above places every call on the clock)",
    servers6: " · over IPv6: TCP {tcp} · UDP {udp}",
    servers_no6: " · no IPv6 on this bridge",
    connect: "Connect",
    close: "Close",
    log: "Log",
    clear: "Clear log",
    tcp_idle: "TCP: not connected — \"Send via TCP\" connects first",
    tcp_connecting: "TCP: connecting (three-way handshake)…",
    tcp_open: "TCP: connected {local} → {peer}",
    kernel_state: " · kernel: {state}",
    udp_note: "UDP: no connection — every datagram travels on its own",
    bridge_connecting: "Bridge: connecting to {url}…",
    bridge_open: "Bridge: connected ({url})",
    bridge_retrying: "Bridge: not reachable at {url} — retrying in {seconds} s",
    bridge_refused_per_address: "Bridge: {url} refused this console — your address already has as many sessions open as it allows (--max-sessions-per-ip); close another console's tab — retrying in {seconds} s",
    bridge_refused_full: "Bridge: {url} is full — it already serves as many sessions as it allows (--max-sessions) — retrying in {seconds} s",
    bridge_refused_origin: "Bridge: {url} does not accept consoles from this page (whoever runs it can allow the page with --allow-origin, or the name it uses with --allow-host) — retrying in {seconds} s",
    bridge_refused_no_upgrade: "Bridge: {url} answers, but its WebSocket did not open (a proxy in between that does not pass WebSockets?) — retrying in {seconds} s",
    bridge_howto: "Start the bridge in a terminal with: cargo run -p bridge — then this console connects by itself. (If your browser asks whether this page may connect to devices on your local network, allow it: the bridge runs on your machine.)",
    servers: "Echo servers: TCP {tcp} · UDP {udp}",
    side_client: "client",
    side_server: "server",
    side_bridge: "bridge",
    ev_connected: "connect() returned — three-way handshake done in {us}",
    ev_accept: "accept() → new connection from {peer}",
    ev_tcp_sent: "send() {n}",
    ev_server_recv: "recv(1024) → {n}",
    ev_server_send: "send() {n}, uppercased",
    ev_tcp_echo: "recv() → {n} echo",
    rtt: "round trip the calls saw {us}",
    ev_closing: "shutdown(): our FIN is sent, waiting for the server's",
    ev_server_close_eof: "recv() returned 0 (the client's FIN) → close()",
    ev_server_close_error: "recv() failed: {error} → close()",
    ev_closed_by_client: "connection closed (the client closed first)",
    ev_closed_by_server: "connection closed by the server (recv() returned 0)",
    ev_udp_sent: "sendto() {n} — no connection, no handshake",
    ev_udp_sent_connected: "send() {n} — a connected UDP socket: no handshake, but only this peer",
    ev_server_recvfrom: "recvfrom(1024) → {n} from {peer}",
    ev_server_sendto: "sendto() {n} → {peer}, uppercased",
    ev_udp_echo: "recvfrom() → {n} echo",
    ev_truncated: " — the datagram had {size}: {lost} discarded by the kernel (MSG_TRUNC)",
    ev_server_message: "framing → one whole message of {n}",
    ev_no_reply: "no reply within {seconds} s",
    ev_udp_closed: "UDP socket closed (nothing is sent: there is no connection)",
    ev_error: "error: {message}",
    ev_bridge_up: "connected to the bridge at {url}",
    ev_bridge_down: "lost the bridge at {url}; its sockets are closed",
    ev_no_bridge: "not sent: the bridge is not connected",
    ev_too_large: "not sent: the message is {n}; the limit is {max}",
    ev_out_of_range: "not sent: {label} takes a whole number from {min} to {max}, not “{value}”",
    ev_bad_frame: "the bridge sent something this console does not understand: {reason}",
    ev_file_unreadable: "the browser could not read the file {file} ({error})",
    ev_send_failed: "the browser could not send to the bridge ({error})",
    ev_open_failed: "the browser could not open a WebSocket to {url} ({error})",
    errno_text: "{errno}: {text}",
    ev_server_close_idle: "no data for {seconds} s (the server's idle timeout) → close()",
    ev_server_close_active: "close(): the server closes first — its FIN goes out before the client's",
    ev_server_close_waited: "close(), {ms} ms after recv() returned 0 (the client's FIN): the server waited",
    ev_udp_dropped: "the kernel dropped {n} datagram(s) at this server: its receive buffer ({size}) was full — UDP never resends them",
    ev_session_idle: "the bridge closed this session after {time} without a command; the next thing you do reconnects",
    bridge_idle: "Bridge: disconnected after {time} without use — your next action reconnects",
    colon: ": ",
    bridge_lazy: "Bridge: not connected yet — this console connects to {url} when you use it",
    replay_status: "Recording, not live: recorded {date} on {kernel} (bridge {version}) · event {n} of {total}",
    replay_paused: " · paused",
    replay_cut: " · the recording was cut short at 8 MiB",
    replay_play: "Play",
    replay_pause: "Pause",
    replay_again: "Play again",
    replay_step: "Step to the next call",
    replay_speed: "Speed",
    save_recording: "Save recording",
    ev_not_live: "not sent: this console is playing a recording — sending needs a running bridge",
    ev_replay: "playing the recording {from}: what it shows happened when it was recorded, not now",
    ev_replay_unreachable: "the bridge at {url} is not reachable, so this console plays the recording this page came with ({from}): what it shows happened when it was recorded, not now",
    ev_replay_failed: "could not play the recording {from}: {why}",
    replay_unfetchable: "the browser could not fetch it ({error}): the network failed, or the server is on another origin and does not allow this page (CORS); a data: URL always works",
    ev_replay_ended: "the recording ends here",
    ev_frame_too_big: "the bridge closed the connection: a frame was over its size limit (WebSocket close 1009); reconnecting",
    ev_bridge_closed: "the bridge closed the connection (WebSocket close {code}); reconnecting",
    x: &exp::EN,
    w: &wire::EN,
    lang: Lang::En,
    bridge_text: true,
    error_detail: "{text} ({detail})",
    reuse_with: "with SO_REUSEADDR",
    reuse_without: "without SO_REUSEADDR",
    errno_meaning: |_| None,
    error: en_error,
};

pub(crate) static ZH_CN: Catalog = Catalog {
    title: "Socket Lab 套接字实验室",
    message: "消息",
    message_placeholder: "输入消息，例如 hello socket",
    send_tcp: "通过 TCP 发送",
    send_udp: "通过 UDP 发送",
    tcp_group: "TCP 连接",
    family: "IP 版本",
    seconds: "{n} 秒",
    minutes: "{n} 分钟",
    log_older: "这里没有显示更早的 {n} 行（上面的时间线把每个调用都放在同一时钟上）",
    servers6: " · IPv6：TCP {tcp} · UDP {udp}",
    servers_no6: " · 此桥接服务不提供 IPv6",
    connect: "连接",
    close: "关闭",
    log: "日志",
    clear: "清空日志",
    tcp_idle: "TCP：未连接 —「通过 TCP 发送」会先建立连接",
    tcp_connecting: "TCP：连接中（三次握手）…",
    tcp_open: "TCP：已连接 {local} → {peer}",
    kernel_state: " · 内核：{state}",
    udp_note: "UDP：无连接 — 每个数据报独立传输",
    bridge_connecting: "桥接服务：正在连接 {url}…",
    bridge_open: "桥接服务：已连接（{url}）",
    bridge_retrying: "桥接服务：无法连接 {url} — {seconds} 秒后重试",
    bridge_refused_per_address: "桥接服务：{url} 拒绝了本控制台——你的地址打开的会话已达到它允许的上限（--max-sessions-per-ip）；请关闭另一个控制台的标签页——{seconds} 秒后重试",
    bridge_refused_full: "桥接服务：{url} 已满——它服务的会话已达到允许的上限（--max-sessions）——{seconds} 秒后重试",
    bridge_refused_origin: "桥接服务：{url} 不接受来自本页面的控制台（运行者可用 --allow-origin 允许本页面，或用 --allow-host 允许所用的主机名）——{seconds} 秒后重试",
    bridge_refused_no_upgrade: "桥接服务：{url} 有应答，但其 WebSocket 没有打开（中间是否有不转发 WebSocket 的代理？）——{seconds} 秒后重试",
    bridge_howto: "请在终端运行 cargo run -p bridge 启动桥接服务，本控制台会自动连接。（如果浏览器询问是否允许此页面连接本地网络上的设备，请允许：桥接服务运行在你的机器上。）",
    servers: "回显服务器：TCP {tcp} · UDP {udp}",
    side_client: "客户端",
    side_server: "服务端",
    side_bridge: "桥接",
    ev_connected: "connect() 返回 — 三次握手用时 {us}",
    ev_accept: "accept() → 来自 {peer} 的新连接",
    ev_tcp_sent: "send() {n}",
    ev_server_recv: "recv(1024) → {n}",
    ev_server_send: "send() {n}（已转大写）",
    ev_tcp_echo: "recv() → {n} 回显",
    rtt: "调用看到的往返 {us}",
    ev_closing: "shutdown()：已发出 FIN，等待服务端的 FIN",
    ev_server_close_eof: "recv() 返回 0（客户端的 FIN）→ close()",
    ev_server_close_error: "recv() 出错：{error} → close()",
    ev_closed_by_client: "连接已关闭（客户端先关闭）",
    ev_closed_by_server: "服务端关闭了连接（recv() 返回 0）",
    ev_udp_sent: "sendto() {n} — 无连接，无握手",
    ev_udp_sent_connected: "send() {n} — 已 connect() 的 UDP 套接字：没有握手，但只与这个对端通信",
    ev_server_recvfrom: "recvfrom(1024) → {n}，来自 {peer}",
    ev_server_sendto: "sendto() {n} → {peer}（已转大写）",
    ev_udp_echo: "recvfrom() → {n} 回显",
    ev_truncated: " — 数据报实际有 {size}，其中 {lost} 被内核丢弃（MSG_TRUNC）",
    ev_server_message: "按帧切分 → 一条完整消息 {n}",
    ev_no_reply: "{seconds} 秒内没有回复",
    ev_udp_closed: "UDP 套接字已关闭（没有连接，线路上什么也不发送）",
    ev_error: "错误：{message}",
    ev_bridge_up: "已连接桥接服务 {url}",
    ev_bridge_down: "与桥接服务 {url} 的连接断开，其套接字均已关闭",
    ev_no_bridge: "未发送：桥接服务未连接",
    ev_too_large: "未发送：消息大小 {n}，上限 {max}",
    ev_out_of_range: "未发送：{label}须为 {min} 到 {max} 之间的整数，而不是“{value}”",
    ev_bad_frame: "桥接服务发来了无法识别的内容：{reason}",
    ev_file_unreadable: "浏览器无法读取文件 {file}（{error}）",
    ev_send_failed: "浏览器无法向桥接服务发送（{error}）",
    ev_open_failed: "浏览器无法打开到 {url} 的 WebSocket（{error}）",
    errno_text: "{errno}：{text}",
    ev_server_close_idle: "{seconds} 秒没有收到数据（服务端的空闲超时）→ close()",
    ev_server_close_active: "close()：服务端先关闭——它的 FIN 先于客户端的发出",
    ev_server_close_waited: "close()：在 recv() 返回 0（客户端的 FIN）{ms} 毫秒之后——服务端等了一会儿",
    ev_udp_dropped: "内核在这个服务端丢弃了 {n} 个数据报：它的接收缓冲区（{size}）满了——UDP 不会重发它们",
    ev_session_idle: "桥接服务在 {time}没有收到命令后关闭了这个会话；你的下一个操作会重新连接",
    bridge_idle: "桥接服务：闲置 {time}后已断开——你的下一个操作会重新连接",
    colon: "：",
    bridge_lazy: "桥接服务：尚未连接——你使用这个控制台时它才连接 {url}",
    replay_status: "录制回放，并非实时：{date} 录制于 {kernel}（桥接服务 {version}）· 第 {n}/{total} 个事件",
    replay_paused: " · 已暂停",
    replay_cut: " · 录制在 8 MiB 处被截断",
    replay_play: "播放",
    replay_pause: "暂停",
    replay_again: "重新播放",
    replay_step: "单步到下一个调用",
    replay_speed: "速度",
    save_recording: "保存录制",
    ev_not_live: "未发送：这个控制台正在播放录制——发送需要一个正在运行的桥接服务",
    ev_replay: "正在播放录制 {from}：它显示的是录制时发生的事，不是现在",
    ev_replay_unreachable: "无法连接 {url} 上的桥接服务，所以这个控制台播放本页附带的录制（{from}）：它显示的是录制时发生的事，不是现在",
    ev_replay_failed: "无法播放录制 {from}：{why}",
    replay_unfetchable: "浏览器无法获取它（{error}）：网络出错，或者服务器在另一个源上且不允许本页面访问（CORS）；data: URL 总是可用",
    ev_replay_ended: "录制到此结束",
    ev_frame_too_big: "桥接服务关闭了连接：一个帧超过了大小上限（WebSocket 关闭码 1009）；正在重新连接",
    ev_bridge_closed: "桥接服务关闭了连接（WebSocket 关闭码 {code}）；正在重新连接",
    x: &exp::ZH_CN,
    w: &wire::ZH_CN,
    lang: Lang::ZhCn,
    bridge_text: false,
    error_detail: "{text}（{detail}）",
    reuse_with: "设置了 SO_REUSEADDR",
    reuse_without: "未设置 SO_REUSEADDR",
    errno_meaning: zh_errno,
    error: zh_error,
};

fn en_error(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadJson => "the frame is not JSON",
        ErrorCode::BadVersion => "unsupported protocol version",
        ErrorCode::UnknownCommand => "unknown command",
        ErrorCode::BadCommand => "malformed command",
        ErrorCode::BinaryFrame => "binary frames are not part of the protocol",
        ErrorCode::TooLarge => "the message is too large",
        ErrorCode::TooManySockets => "too many open sockets",
        ErrorCode::DuplicateId => "this id is already in use",
        ErrorCode::UnknownId => "no such socket (closed?)",
        ErrorCode::QueueFull => "too many commands waiting",
        ErrorCode::Os => "a socket call failed",
        ErrorCode::EventsDropped => "some events were dropped: the session's event queue was full",
        ErrorCode::UnknownServer => "no such lab server",
        ErrorCode::BadSpec => "a lab server setting is out of range",
        ErrorCode::TooManyServers => "too many lab servers",
        ErrorCode::PacketsDropped => "some captured packets were dropped",
        ErrorCode::BridgeBusy => "the bridge is at capacity: try again in a minute",
        ErrorCode::ImpairUnavailable => "this bridge cannot impair a link",
    }
}

/// The errors a learner meets in the lab, in Chinese (others keep the generic "a call failed").
fn zh_errno(name: &str) -> Option<&'static str> {
    Some(match name {
        "ECONNREFUSED" => "连接被拒绝",
        "ECONNRESET" => "连接被对方重置",
        "EADDRINUSE" => "地址已被占用",
        "EADDRNOTAVAIL" => "地址不可用",
        "EMSGSIZE" => "消息太长",
        "ETIMEDOUT" => "连接超时",
        "EPIPE" => "管道已断开（对方已关闭）",
        "ENETUNREACH" => "网络不可达",
        "EHOSTUNREACH" => "主机不可达",
        "EMFILE" | "ENFILE" => "打开的文件太多",
        "EPERM" | "EACCES" => "没有权限",
        "ENOBUFS" | "ENOMEM" => "内核缓冲区不足",
        _ => return None,
    })
}

fn zh_error(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadJson => "帧不是 JSON",
        ErrorCode::BadVersion => "不支持的协议版本",
        ErrorCode::UnknownCommand => "未知命令",
        ErrorCode::BadCommand => "命令格式错误",
        ErrorCode::BinaryFrame => "协议不使用二进制帧",
        ErrorCode::TooLarge => "消息太大",
        ErrorCode::TooManySockets => "打开的套接字太多",
        ErrorCode::DuplicateId => "该编号已被使用",
        ErrorCode::UnknownId => "没有这个套接字（已关闭？）",
        ErrorCode::QueueFull => "等待执行的命令太多",
        ErrorCode::Os => "套接字调用失败",
        ErrorCode::EventsDropped => "部分事件被丢弃：会话的事件队列已满",
        ErrorCode::UnknownServer => "没有这个实验服务端",
        ErrorCode::BadSpec => "实验服务端的设置超出范围",
        ErrorCode::TooManyServers => "实验服务端太多",
        ErrorCode::PacketsDropped => "部分抓到的数据包被丢弃",
        ErrorCode::BridgeBusy => "桥接服务已满负荷：请一分钟后再试",
        ErrorCode::ImpairUnavailable => "这个桥接服务无法模拟有损链路",
    }
}

/// [`fill`] with values that are owned strings (numbers and addresses formatted on the spot).
pub(crate) fn fill_owned(template: &str, values: &[(&str, String)]) -> String {
    let borrowed: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fill(template, &borrowed)
}

/// Replaces each `{name}` in `template` with its value.
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn picks_the_language_from_a_tag() {
        assert_eq!(Lang::from_tag("zh-CN"), Lang::ZhCn);
        assert_eq!(Lang::from_tag("zh"), Lang::ZhCn);
        assert_eq!(Lang::from_tag("en-US"), Lang::En);
        assert_eq!(Lang::from_tag("fr"), Lang::En);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn fills_placeholders() {
        assert_eq!(
            fill(EN.tcp_open, &[("local", "a"), ("peer", "b")]),
            "TCP: connected a → b"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn both_languages_use_the_same_placeholders_in_each_string() {
        // The struct guarantees every string exists; this checks the {names} agree too.
        fn names(s: &str) -> Vec<&str> {
            let mut v: Vec<&str> = s
                .split('{')
                .skip(1)
                .filter_map(|p| p.split('}').next())
                .collect();
            v.sort();
            v
        }
        let pairs = [
            (EN.tcp_open, ZH_CN.tcp_open),
            (EN.bridge_connecting, ZH_CN.bridge_connecting),
            (EN.bridge_open, ZH_CN.bridge_open),
            (EN.bridge_retrying, ZH_CN.bridge_retrying),
            (
                EN.bridge_refused_per_address,
                ZH_CN.bridge_refused_per_address,
            ),
            (EN.bridge_refused_full, ZH_CN.bridge_refused_full),
            (EN.bridge_refused_origin, ZH_CN.bridge_refused_origin),
            (
                EN.bridge_refused_no_upgrade,
                ZH_CN.bridge_refused_no_upgrade,
            ),
            (EN.servers, ZH_CN.servers),
            (EN.ev_connected, ZH_CN.ev_connected),
            (EN.ev_accept, ZH_CN.ev_accept),
            (EN.ev_tcp_sent, ZH_CN.ev_tcp_sent),
            (EN.ev_server_recv, ZH_CN.ev_server_recv),
            (EN.ev_server_send, ZH_CN.ev_server_send),
            (EN.ev_tcp_echo, ZH_CN.ev_tcp_echo),
            (EN.rtt, ZH_CN.rtt),
            (EN.ev_server_close_error, ZH_CN.ev_server_close_error),
            (EN.ev_udp_sent, ZH_CN.ev_udp_sent),
            (EN.ev_server_recvfrom, ZH_CN.ev_server_recvfrom),
            (EN.ev_server_sendto, ZH_CN.ev_server_sendto),
            (EN.ev_udp_echo, ZH_CN.ev_udp_echo),
            (EN.ev_truncated, ZH_CN.ev_truncated),
            (EN.ev_server_message, ZH_CN.ev_server_message),
            (EN.ev_no_reply, ZH_CN.ev_no_reply),
            (EN.ev_error, ZH_CN.ev_error),
            (EN.ev_udp_sent_connected, ZH_CN.ev_udp_sent_connected),
            (EN.ev_bridge_up, ZH_CN.ev_bridge_up),
            (EN.ev_bridge_down, ZH_CN.ev_bridge_down),
            (EN.ev_too_large, ZH_CN.ev_too_large),
            (EN.ev_out_of_range, ZH_CN.ev_out_of_range),
            (EN.ev_bad_frame, ZH_CN.ev_bad_frame),
            (EN.ev_file_unreadable, ZH_CN.ev_file_unreadable),
            (EN.ev_send_failed, ZH_CN.ev_send_failed),
            (EN.ev_open_failed, ZH_CN.ev_open_failed),
            (EN.errno_text, ZH_CN.errno_text),
            (EN.error_detail, ZH_CN.error_detail),
            (EN.ev_server_close_idle, ZH_CN.ev_server_close_idle),
            (EN.ev_server_close_waited, ZH_CN.ev_server_close_waited),
            (EN.ev_udp_dropped, ZH_CN.ev_udp_dropped),
            (EN.ev_session_idle, ZH_CN.ev_session_idle),
            (EN.bridge_idle, ZH_CN.bridge_idle),
            (EN.replay_status, ZH_CN.replay_status),
            (EN.ev_replay, ZH_CN.ev_replay),
            (EN.ev_replay_unreachable, ZH_CN.ev_replay_unreachable),
            (EN.ev_replay_failed, ZH_CN.ev_replay_failed),
            (EN.ev_bridge_closed, ZH_CN.ev_bridge_closed),
            (EN.servers6, ZH_CN.servers6),
        ];
        for (en, zh) in pairs {
            assert_eq!(names(en), names(zh), "{en:?} vs {zh:?}");
        }
    }
}
