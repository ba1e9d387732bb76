//! The glossary: the tutorial's Chinese terms next to their English names, each explained in
//! both languages. One row per term holds both languages, so neither can miss one.

/// (中文, English, explanation in English, 中文解释)
pub(crate) static TERMS: [(&str, &str, &str, &str); 16] = [
    (
        "套接字",
        "socket",
        "one end of a conversation: a protocol, an address and a port, made with socket()",
        "通信的一端：协议、地址和端口，用 socket() 创建",
    ),
    (
        "三次握手",
        "three-way handshake",
        "SYN, SYN-ACK, ACK: how TCP opens a connection; connect() returns when it is done",
        "SYN、SYN-ACK、ACK：TCP 建立连接的过程；完成后 connect() 返回",
    ),
    (
        "四次挥手",
        "four-way teardown",
        "FIN, ACK, FIN, ACK: each side closes its direction (Linux often merges the middle two)",
        "FIN、ACK、FIN、ACK：双方各自关闭自己的方向（Linux 常把中间两个合并）",
    ),
    (
        "粘包",
        "message boundaries (sticky packets)",
        "TCP delivers a byte stream: several send()s can arrive in one recv(), one send() in several",
        "TCP 交付的是字节流：多次 send() 可能在一次 recv() 中到达，一次 send() 也可能分几次到达",
    ),
    (
        "半连接池",
        "SYN queue (half-open connections)",
        "connections whose SYN arrived and whose handshake is not complete; on Linux its size is tcp_max_syn_backlog (with SYN cookies past it), not listen()'s backlog — the tutorial's 半连接池 for listen(5) is the accept queue",
        "收到了 SYN、握手还没完成的连接；在 Linux 上它的大小由 tcp_max_syn_backlog 决定（超过时用 SYN cookies），而不是 listen() 的 backlog——教程把 listen(5) 说成半连接池，实际限制的是全连接队列",
    ),
    (
        "全连接队列",
        "accept queue",
        "connections whose handshake is done, waiting for the program's accept(); listen(5)'s backlog bounds it (Linux queues backlog + 1); when it is full the kernel drops new SYNs and counts ListenOverflows",
        "握手已完成、等待程序 accept() 的连接；listen(5) 的 backlog 限制它的长度（Linux 最多排 backlog + 1 个）；满了之后内核丢弃新的 SYN，并计入 ListenOverflows",
    ),
    (
        "数据报",
        "datagram",
        "a UDP message: it arrives whole, or not at all, and keeps its boundaries",
        "UDP 的消息：要么完整到达，要么不到，边界得以保留",
    ),
    (
        "字节流",
        "byte stream",
        "TCP's service: every byte, in order, without message boundaries",
        "TCP 提供的服务：每个字节按序到达，但没有消息边界",
    ),
    (
        "端口",
        "port",
        "a number (0–65535) that picks the socket on a host; below 1024 is privileged: binding one needs root (CAP_NET_BIND_SERVICE)",
        "在一台主机上选择套接字的编号（0–65535）；1024 以下是特权端口：绑定需要 root（CAP_NET_BIND_SERVICE）",
    ),
    (
        "缓冲区",
        "buffer",
        "the memory recv(1024) reads into; a datagram longer than it is cut",
        "recv(1024) 读入的内存；比它长的数据报会被截断",
    ),
    (
        "回显",
        "echo",
        "sending back what was received — here uppercased, like bytes.upper()",
        "把收到的内容发回去——这里像 bytes.upper() 那样转成大写",
    ),
    (
        "帧格式",
        "framing",
        "marking message boundaries in a stream: a length prefix or a delimiter",
        "在字节流中标出消息边界：长度前缀或分隔符",
    ),
    (
        "主动关闭",
        "active close",
        "closing first; that side keeps the connection in TIME_WAIT for about a minute",
        "先关闭的一方；它会让连接在 TIME_WAIT 停留约一分钟",
    ),
    (
        "序号 / 确认号",
        "sequence / acknowledgment number",
        "which byte a segment starts with / which byte is expected next",
        "报文段从哪个字节开始 / 期望收到的下一个字节",
    ),
    (
        "窗口",
        "window",
        "how many more bytes the receiver can take right now",
        "接收方此刻还能接收多少字节",
    ),
    (
        "回环接口",
        "loopback interface",
        "lo: the machine talking to itself (127.0.0.1); where the lab's packets travel",
        "lo：机器与自己通信（127.0.0.1）；实验室的数据包就在这里传输",
    ),
];
