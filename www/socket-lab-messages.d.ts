// The messages between a page and a Socket Lab console in an iframe (/embed). Served by the
// bridge at /socket-lab-messages.d.ts; see README, "Embedding", for an example.
//
// The iframe obeys only its own parent window (`event.source === parent`), and reports only to
// it: a page with several iframes tells them apart by `event.source === iframe.contentWindow`.

/** What a page may post to the iframe (`iframe.contentWindow.postMessage(message, "*")`). */
export type SocketLabCommand =
  /** Show an experiment's tab: "echo", "sticky", "empty", "bigger", "nobody", "queue", "time-wait", "file", "lossy", "others", "glossary". */
  | { type: "socket-lab:experiment"; experiment: string }
  /** Send `text` as the Send buttons do. */
  | { type: "socket-lab:send"; proto: "tcp" | "udp"; text: string }
  /**
   * Play a recording, labelled as such. `recording` is the URL of a file saved with "Save
   * recording" (not its text): relative to the iframe's page, absolute on a server that allows
   * the iframe's origin (CORS), or a `data:` URL of the file's text.
   */
  | { type: "socket-lab:replay"; recording: string };

/** What the iframe posts to its parent. */
export type SocketLabReport =
  /** The console is ready: live (connected to a bridge) or playing a recording. */
  | { type: "socket-lab:ready"; live: boolean }
  /** An echo came back over `proto`: the bytes as text. */
  | { type: "socket-lab:echo"; proto: "tcp" | "udp"; text: string; live: boolean }
  /** The console's log shows an error, or a command could not be carried out. */
  | { type: "socket-lab:error"; message: string }
  /** The page's height in CSS pixels, to size the iframe without scrollbars. */
  | { type: "socket-lab:height"; height: number };
