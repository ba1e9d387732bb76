//! The DOM layer in a real browser (headless Chromium through wasm-bindgen-test): the elements
//! and their accessible names, drawing the model, intents from clicks, and two consoles on one
//! page living independently.

use super::*;
use crate::i18n::{EN, ZH_CN};
use crate::model::log::Proto;
use crate::options::Panels;
use protocol::{Event, EventBody, Limits};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh container in the page's body.
fn container() -> Element {
    let div = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&div).unwrap();
    div
}

fn query(root: &Element, selector: &str) -> Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
}

fn text(root: &Element, selector: &str) -> String {
    query(root, selector).text_content().unwrap_or_default()
}

fn ev(t_us: u64, body: EventBody) -> Event {
    Event::new(t_us, body)
}

fn open_model() -> Model {
    let mut m = Model::new("ws://127.0.0.1:8000/ws");
    m.bridge_opened();
    m.apply(ev(
        0,
        EventBody::Hello {
            tcp_server: "127.0.0.1:8080".parse().unwrap(),
            udp_server: "127.0.0.1:8081".parse().unwrap(),
            tcp_server6: None,
            udp_server6: None,
            limits: Limits {
                max_message: 65536,
                max_sockets: 16,
            },
            show_other_clients: false,
            capture: Default::default(),
            impair: Default::default(),
            started_unix_us: 0,
            bridge_version: String::new(),
            kernel: String::new(),
        },
    ));
    m
}

#[wasm_bindgen_test]
fn the_controls_have_the_accessible_names_tutorials_rely_on() {
    let host = container();
    let _view = View::build(&host, &EN, "en", Panels::default(), "auto").unwrap();
    // <label>Message <input></label> names the input "Message".
    let label = query(&host, "label.sl-message");
    assert!(label.text_content().unwrap().starts_with("Message"));
    assert!(label.query_selector("input").unwrap().is_some());
    let buttons: Vec<String> = (0..host.query_selector_all("button").unwrap().length())
        .map(|i| {
            host.query_selector_all("button")
                .unwrap()
                .get(i)
                .unwrap()
                .text_content()
                .unwrap()
        })
        .collect();
    for name in ["Send via TCP", "Send via UDP", "Connect", "Close"] {
        assert!(buttons.iter().any(|b| b == name), "{name} in {buttons:?}");
    }
    // The log region holds the entries as a list.
    assert_eq!(query(&host, "[role=log] > ol.sl-entries").tag_name(), "OL");
}

#[wasm_bindgen_test]
fn draws_the_models_events_with_the_servers_bytes() {
    let host = container();
    let mut view = View::build(&host, &EN, "en", Panels::default(), "auto").unwrap();
    let mut model = open_model();
    let cmds = model.send(Proto::Udp, "héllo".as_bytes().to_vec());
    assert_eq!(cmds.len(), 1);
    let local = "127.0.0.1:50000".parse().unwrap();
    let server = "127.0.0.1:8081".parse().unwrap();
    model.apply(ev(
        10,
        EventBody::UdpSent {
            id: 1,
            local,
            peer: server,
            len: 6,
            connected: false,
        },
    ));
    model.apply(ev(
        42,
        EventBody::UdpReceived {
            id: 1,
            from: server,
            data: "HéLLO".into(),
        },
    ));
    view.render(&model, &EN).unwrap();

    let echo = query(&host, r#"li[data-kind="echo"][data-proto="udp"]"#);
    assert_eq!(text(&echo, ".sl-payload"), "\"HéLLO\"");
    assert_eq!(
        text(&echo, ".sl-text"),
        "recvfrom() → 6 B echo · round trip the calls saw 32 µs"
    );
    assert_eq!(text(&echo, ".sl-addrs"), "127.0.0.1:8081 → 127.0.0.1:50000");
    assert_eq!(
        query(&host, ".sl-status")
            .get_attribute("data-state")
            .as_deref(),
        Some("open")
    );
    assert!(query(&host, ".sl-howto").has_attribute("hidden"));
    assert!(text(&host, ".sl-servers").contains("127.0.0.1:8080"));
    // This hello has no IPv6 servers: the line says why the IPv6 choice is disabled.
    assert!(text(&host, ".sl-servers").ends_with(" · no IPv6 on this bridge"));

    // Drawing again appends nothing twice; clearing empties the DOM log.
    view.render(&model, &EN).unwrap();
    assert_eq!(
        host.query_selector_all("[role=log] li").unwrap().length(),
        3
    );
    model.clear_log();
    view.render(&model, &EN).unwrap();
    assert_eq!(
        host.query_selector_all("[role=log] li").unwrap().length(),
        0
    );
    model.apply(ev(50, EventBody::UdpClosed { id: 1 }));
    view.render(&model, &EN).unwrap();
    assert_eq!(
        host.query_selector_all("[role=log] li").unwrap().length(),
        1
    );
}

#[wasm_bindgen_test]
fn a_payload_is_text_never_markup() {
    let host = container();
    let mut view = View::build(&host, &EN, "en", Panels::default(), "auto").unwrap();
    let mut model = open_model();
    model.send(Proto::Udp, b"<img src=x onerror=alert(1)>".to_vec());
    let local = "127.0.0.1:50000".parse().unwrap();
    let server = "127.0.0.1:8081".parse().unwrap();
    model.apply(ev(
        1,
        EventBody::UdpSent {
            id: 1,
            local,
            peer: server,
            len: 28,
            connected: false,
        },
    ));
    view.render(&model, &EN).unwrap();
    assert!(host.query_selector("[role=log] img").unwrap().is_none());
    assert!(text(&host, ".sl-payload").contains("<img"));
}

#[wasm_bindgen_test]
fn without_a_bridge_the_console_says_how_to_start_one_and_connect_is_disabled() {
    let host = container();
    let mut view = View::build(&host, &ZH_CN, "zh-CN", Panels::default(), "auto").unwrap();
    let mut model = Model::new("ws://127.0.0.1:9/ws");
    model.bridge_lost(4000);
    view.render(&model, &ZH_CN).unwrap();
    assert_eq!(
        query(&host, ".sl-status")
            .get_attribute("data-state")
            .as_deref(),
        Some("retrying")
    );
    assert!(text(&host, ".sl-status").contains("4 秒后重试"));
    assert!(!query(&host, ".sl-howto").has_attribute("hidden"));
    assert!(text(&host, ".sl-howto").contains("cargo run -p bridge"));
    let connect: HtmlButtonElement = query(&host, ".sl-connect").dyn_into().unwrap();
    assert!(connect.disabled());
    assert_eq!(
        query(&host, ".socket-lab").get_attribute("lang").as_deref(),
        Some("zh-CN")
    );
}

#[wasm_bindgen_test]
fn clicks_and_enter_become_intents_and_remove_detaches_them() {
    let host = container();
    let mut view = View::build(&host, &EN, "en", Panels::default(), "auto").unwrap();
    let seen = Rc::new(RefCell::new(vec![]));
    let sink = seen.clone();
    view.bind(move |i| sink.borrow_mut().push(i));
    let click = |selector: &str| {
        query(&host, selector)
            .dyn_into::<HtmlElement>()
            .unwrap()
            .click();
    };
    click(".sl-send.sl-udp");
    click(".sl-send.sl-tcp");
    click(".sl-clear");
    let input = query(&host, "input");
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Enter");
    let enter =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    input.dispatch_event(&enter).unwrap();
    assert_eq!(
        *seen.borrow(),
        [
            Intent::SendUdp,
            Intent::SendTcp,
            Intent::ClearLog,
            Intent::SendTcp
        ]
    );
    assert_eq!(view.message(), b"hello socket");

    let button = query(&host, ".sl-send.sl-udp")
        .dyn_into::<HtmlElement>()
        .unwrap();
    view.remove();
    button.click();
    assert_eq!(seen.borrow().len(), 4, "no listener left after remove()");
    assert!(host.query_selector(".socket-lab").unwrap().is_none());
}

/// Resolves after `ms` milliseconds.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

#[wasm_bindgen_test]
async fn two_mounted_consoles_are_independent_and_destroy_removes_only_one() {
    let (a, b) = (container(), container());
    // Port 9 (discard) has no bridge: both consoles must notice on their own.
    let options = |lang: &str| {
        let o = js_sys::Object::new();
        js_sys::Reflect::set(&o, &"bridge".into(), &"ws://127.0.0.1:9/ws".into()).unwrap();
        js_sys::Reflect::set(&o, &"lang".into(), &lang.into()).unwrap();
        o.into()
    };
    let first = crate::mount(a.clone(), options("en")).unwrap();
    let second = crate::mount(b.clone(), options("zh-CN")).unwrap();
    // The consoles live in shadow roots on the hosts mount() added.
    let inside = |el: &Element| -> Element {
        let host = el.query_selector(".socket-lab-host").unwrap().unwrap();
        host.shadow_root().unwrap().first_element_child().unwrap()
    };
    let (a_host, b_host) = (a.clone(), b.clone());
    let (a, b) = (inside(&a), inside(&b));
    for _ in 0..100 {
        let retrying = |host: &Element| {
            query(host, ".sl-status")
                .get_attribute("data-state")
                .as_deref()
                == Some("retrying")
        };
        if retrying(&a) && retrying(&b) {
            break;
        }
        sleep(50).await;
    }
    assert!(text(&a, ".sl-status").contains("not reachable"));
    assert!(text(&b, ".sl-status").contains("无法连接"));

    // Typing in one console does not touch the other.
    let input_a: HtmlInputElement = query(&a, "input").dyn_into().unwrap();
    input_a.set_value("only in a");
    let input_b: HtmlInputElement = query(&b, "input").dyn_into().unwrap();
    assert_eq!(input_b.value(), "hello socket");
    // Sending without a bridge explains itself, in that console only.
    query(&a, ".sl-send.sl-tcp")
        .dyn_into::<HtmlElement>()
        .unwrap()
        .click();
    assert!(text(&a, "[role=log]").contains("bridge is not connected"));
    assert!(!text(&b, "[role=log]").contains("未发送"));

    first.destroy();
    assert!(
        a_host.query_selector(".socket-lab-host").unwrap().is_none(),
        "all gone"
    );
    assert!(b.query_selector(".socket-lab").unwrap().is_some());
    second.destroy();
    assert!(b_host.query_selector(".socket-lab-host").unwrap().is_none());
}

#[wasm_bindgen_test]
fn bad_options_are_a_clear_error() {
    let o = js_sys::Object::new();
    js_sys::Reflect::set(&o, &"brige".into(), &"ws://x".into()).unwrap();
    let err = crate::mount(container(), o.into()).err().expect("an error");
    let message = err.as_string().unwrap();
    assert!(
        message.contains("bad options") && message.contains("brige"),
        "{message}"
    );
}

#[wasm_bindgen_test]
fn options_of_the_wrong_type_are_a_clear_error() {
    let mount_with = |key: &str, value: JsValue| {
        let o = js_sys::Object::new();
        js_sys::Reflect::set(&o, &key.into(), &value).unwrap();
        crate::mount(container(), o.into())
    };
    let err = mount_with("lang", 5.into()).err().expect("an error");
    let message = err.as_string().unwrap();
    assert!(message.contains("\"lang\" must be a string"), "{message}");
    let err = mount_with("panels", "log".into()).err().expect("an error");
    let message = err.as_string().unwrap();
    assert!(message.contains("\"panels\" must be an array"), "{message}");
    let names = js_sys::Array::of2(&"log".into(), &7.into());
    assert!(mount_with("panels", names.into()).is_err());
    // Right types mount; null counts as "not given".
    let names = js_sys::Array::of1(&"log".into());
    let console = mount_with("panels", names.into()).expect("mounts");
    console.destroy();
    let console = mount_with("theme", JsValue::NULL).expect("mounts");
    console.destroy();
}

#[wasm_bindgen_test]
fn a_bridge_url_the_browser_refuses_is_named_in_the_consoles_language() {
    let mount_lang = |lang: &str| {
        let o = js_sys::Object::new();
        js_sys::Reflect::set(&o, &"bridge".into(), &"ws://[oops/ws".into()).unwrap();
        js_sys::Reflect::set(&o, &"lang".into(), &lang.into()).unwrap();
        let el = container();
        let console = crate::mount(el.clone(), o.into()).unwrap();
        let host = el.query_selector(".socket-lab-host").unwrap().unwrap();
        let root = host.shadow_root().unwrap().first_element_child().unwrap();
        (console, text(&root, "[role=log]"))
    };
    let (en, log) = mount_lang("en");
    assert!(
        log.contains("the browser could not open a WebSocket to ws://[oops/ws (SyntaxError)"),
        "{log}"
    );
    assert!(!log.contains("does not understand"), "{log}");
    en.destroy();
    let (zh, log) = mount_lang("zh-CN");
    assert!(
        log.contains("浏览器无法打开到 ws://[oops/ws 的 WebSocket（SyntaxError）"),
        "{log}"
    );
    zh.destroy();
}
