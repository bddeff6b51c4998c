//! A scripted model behind an OpenAI-compatible chat-completions endpoint on 127.0.0.1,
//! for driving the real Copilot CLI offline (COPILOT_PROVIDER_BASE_URL). The first turn
//! streams one call of the CLI's `bash` tool; once a tool result comes back, a short
//! final answer. Every request body is kept for the test to read.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tiny_http::{Header, Response, Server};

pub struct Model {
    /// The endpoint's base URL, `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    requests: Arc<Mutex<Vec<Value>>>,
    authorization: Arc<Mutex<Option<String>>>,
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let event = json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
    });
    format!("data: {event}\n\n")
}

/// `--agent-setting NAME=VALUE` for each pair.
fn agent_settings(pairs: &[(&str, &str)]) -> Vec<String> {
    pairs.iter().flat_map(|(name, value)| ["--agent-setting".to_string(), format!("{name}={value}")]).collect()
}

impl Model {
    /// The render flags that point Copilot CLI at this model.
    pub fn settings(&self) -> Vec<String> {
        agent_settings(&[
            ("COPILOT_OFFLINE", "true"),
            ("COPILOT_PROVIDER_BASE_URL", &self.base_url),
            ("COPILOT_MODEL", "scripted"),
        ])
    }

    /// `command`: the shell command the model asks the CLI's bash tool to run.
    pub fn start(command: &str) -> Model {
        let server = Server::http("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/v1", server.server_addr().to_ip().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let authorization = Arc::new(Mutex::new(None));
        let (seen, auth, command) = (requests.clone(), authorization.clone(), command.to_string());
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let header = request.headers().iter().find(|h| h.field.equiv("Authorization"));
                *auth.lock().unwrap() = header.map(|h| h.value.to_string());
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let answered_tool = body["messages"].as_array().is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
                seen.lock().unwrap().push(body);
                let stream = if answered_tool {
                    chunk(json!({ "role": "assistant", "content": "Done: the change is made." }), None)
                        + &chunk(json!({}), Some("stop"))
                } else {
                    let arguments = json!({ "command": command, "description": "make the change" }).to_string();
                    chunk(
                        json!({ "role": "assistant", "tool_calls": [{ "index": 0, "id": "call_1", "type": "function",
                            "function": { "name": "bash", "arguments": arguments } }] }),
                        None,
                    ) + &chunk(json!({}), Some("tool_calls"))
                };
                let response = Response::from_string(stream + "data: [DONE]\n\n")
                    .with_header(Header::from_bytes("Content-Type", "text/event-stream").unwrap());
                let _ = request.respond(response);
            }
        });
        Model { base_url, requests, authorization }
    }

    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// The Authorization header of the last request.
    pub fn authorization(&self) -> Option<String> {
        self.authorization.lock().unwrap().clone()
    }

    /// The text of the first user message the model received.
    pub fn first_user_message(&self) -> String {
        let requests = self.requests();
        let first = requests.first().expect("the model was called");
        let message =
            first["messages"].as_array().unwrap().iter().find(|m| m["role"] == "user").expect("a user message");
        match &message["content"] {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join(""),
            other => other.to_string(),
        }
    }
}

/// A scripted Gemini model behind the Gemini API on 127.0.0.1, for driving the real
/// Gemini CLI offline (GOOGLE_GEMINI_BASE_URL). The agent turn
/// (`:streamGenerateContent?alt=sse`) first calls the CLI's `run_shell_command` tool,
/// then answers briefly; side queries (`:generateContent` with a `responseJsonSchema`,
/// such as the CLI's routing classifier) get a JSON value that fits their schema.
pub struct GeminiModel {
    /// The base URL, `http://127.0.0.1:PORT`.
    pub base_url: String,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

/// A value that fits a (Gemini-style, upper-case types) JSON schema.
fn fitting(schema: &Value) -> Value {
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    let kind = schema["type"].as_str().unwrap_or("OBJECT").to_ascii_lowercase();
    match kind.as_str() {
        "object" => Value::Object(
            schema["properties"]
                .as_object()
                .map(|p| p.iter().map(|(k, v)| (k.clone(), fitting(v))).collect())
                .unwrap_or_default(),
        ),
        "array" => json!([]),
        "integer" | "number" => json!(1),
        "boolean" => json!(false),
        _ => json!("scripted"),
    }
}

fn candidate(part: Value) -> Value {
    json!({
        "candidates": [{ "content": { "role": "model", "parts": [part] }, "finishReason": "STOP", "index": 0 }],
        "usageMetadata": { "promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2 },
    })
}

impl GeminiModel {
    pub fn start(command: &str) -> GeminiModel {
        let server = Server::http("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (seen, command) = (requests.clone(), command.to_string());
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let url = request.url().to_string();
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                seen.lock().unwrap().push((url.clone(), body.clone()));
                let response = if url.contains(":streamGenerateContent") {
                    let answered = body["contents"].as_array().is_some_and(|contents| {
                        contents.iter().any(|c| {
                            c["parts"].as_array().is_some_and(|p| p.iter().any(|p| p.get("functionResponse").is_some()))
                        })
                    });
                    let part = if answered {
                        json!({ "text": "Done: the change is made." })
                    } else {
                        json!({ "functionCall": { "name": "run_shell_command", "args": { "command": command } } })
                    };
                    Response::from_string(format!("data: {}\r\n\r\n", candidate(part)))
                        .with_header(Header::from_bytes("Content-Type", "text/event-stream").unwrap())
                } else {
                    let schema = &body["generationConfig"]["responseJsonSchema"];
                    let text = if schema.is_null() { "scripted".to_string() } else { fitting(schema).to_string() };
                    Response::from_string(candidate(json!({ "text": text })).to_string())
                        .with_header(Header::from_bytes("Content-Type", "application/json").unwrap())
                };
                let _ = request.respond(response);
            }
        });
        GeminiModel { base_url, requests }
    }

    /// The text parts of the user's turn in the first agent request.
    pub fn first_user_parts(&self) -> Vec<String> {
        let requests = self.requests.lock().unwrap();
        let (_, body) = requests.iter().find(|(url, _)| url.contains(":streamGenerateContent")).expect("an agent turn");
        let user = body["contents"].as_array().unwrap().iter().find(|c| c["role"] == "user").expect("a user turn");
        user["parts"].as_array().unwrap().iter().filter_map(|p| p["text"].as_str().map(str::to_string)).collect()
    }

    pub fn agent_turns(&self) -> usize {
        self.requests.lock().unwrap().iter().filter(|(url, _)| url.contains(":streamGenerateContent")).count()
    }
}

/// One request: its path, the credential it carried, its body.
type Request = (String, Option<String>, Value);

/// What a scripted model server saw: every request's path, headers of interest and body.
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<Request>>>);

impl Seen {
    fn push(&self, path: String, key: Option<String>, body: Value) {
        self.0.lock().unwrap().push((path, key, body));
    }
    pub fn bodies(&self) -> Vec<Value> {
        self.0.lock().unwrap().iter().map(|(_, _, b)| b.clone()).collect()
    }
    pub fn paths(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().map(|(p, _, _)| p.clone()).collect()
    }
    /// The credential each request carried.
    pub fn keys(&self) -> Vec<Option<String>> {
        self.0.lock().unwrap().iter().map(|(_, k, _)| k.clone()).collect()
    }
}

fn sse(events: &[(&str, Value)]) -> String {
    events.iter().map(|(name, data)| format!("event: {name}\ndata: {data}\n\n")).collect()
}

fn serve(handle: impl Fn(&str, &Value) -> String + Send + 'static, key_header: &'static str) -> (String, Seen) {
    let server = Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen = Seen::default();
    let record = seen.clone();
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let path = request.url().to_string();
            let key = request.headers().iter().find(|h| h.field.equiv(key_header)).map(|h| h.value.to_string());
            let mut body = String::new();
            let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            record.push(path.clone(), key, body.clone());
            let response = Response::from_string(handle(&path, &body))
                .with_header(Header::from_bytes("Content-Type", "text/event-stream").unwrap());
            let _ = request.respond(response);
        }
    });
    (base, seen)
}

/// A scripted Claude model behind the Anthropic Messages API (streaming) on 127.0.0.1,
/// for the real Claude Code (ANTHROPIC_BASE_URL): one call of its `Bash` tool, then,
/// once a tool result comes back, a short answer. The key arrives in `x-api-key`.
pub struct AnthropicModel {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    pub seen: Seen,
}

impl AnthropicModel {
    /// The render flags that point Claude Code at this model.
    pub fn settings(&self) -> Vec<String> {
        agent_settings(&[("ANTHROPIC_BASE_URL", &self.base_url), ("ANTHROPIC_MODEL", "scripted")])
    }

    pub fn start(command: &str) -> AnthropicModel {
        let command = command.to_string();
        let (base_url, seen) = serve(
            move |_, body| {
                let answered = body["messages"].as_array().is_some_and(|m| {
                    m.iter()
                        .any(|m| m["content"].as_array().is_some_and(|c| c.iter().any(|p| p["type"] == "tool_result")))
                });
                let start = json!({ "type": "message_start", "message": { "id": "msg_scripted", "type": "message",
                    "role": "assistant", "model": "scripted", "content": [], "stop_reason": null,
                    "stop_sequence": null, "usage": { "input_tokens": 1, "output_tokens": 1 } } });
                let (block, delta, stop) = if answered {
                    (
                        json!({ "type": "text", "text": "" }),
                        json!({ "type": "text_delta", "text": "Done: the change is made." }),
                        "end_turn",
                    )
                } else {
                    (
                        json!({ "type": "tool_use", "id": "toolu_scripted", "name": "Bash", "input": {} }),
                        json!({ "type": "input_json_delta",
                                "partial_json": json!({ "command": command, "description": "make the change" }).to_string() }),
                        "tool_use",
                    )
                };
                sse(&[
                    ("message_start", start),
                    (
                        "content_block_start",
                        json!({ "type": "content_block_start", "index": 0, "content_block": block }),
                    ),
                    ("content_block_delta", json!({ "type": "content_block_delta", "index": 0, "delta": delta })),
                    ("content_block_stop", json!({ "type": "content_block_stop", "index": 0 })),
                    (
                        "message_delta",
                        json!({ "type": "message_delta", "delta": { "stop_reason": stop, "stop_sequence": null },
                                              "usage": { "output_tokens": 1 } }),
                    ),
                    ("message_stop", json!({ "type": "message_stop" })),
                ])
            },
            "x-api-key",
        );
        AnthropicModel { base_url, seen }
    }

    /// The prompt as the model got it: the text of the first user message.
    pub fn first_prompt(&self) -> String {
        let body = self.seen.bodies().into_iter().find(|b| b["messages"].is_array()).expect("a messages request");
        let first = &body["messages"][0]["content"];
        match first {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n"),
            _ => String::new(),
        }
    }
}

/// A scripted model behind the OpenAI Responses API (streaming) on 127.0.0.1, for the
/// real Codex CLI with a custom provider: one `exec_command` call, then, once its output
/// comes back, a short answer. The key arrives as `Authorization: Bearer`.
pub struct ResponsesModel {
    /// `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    pub seen: Seen,
}

impl ResponsesModel {
    /// The render flags that point Codex CLI at this model.
    pub fn settings(&self) -> Vec<String> {
        agent_settings(&[("OPENAI_BASE_URL", &self.base_url), ("OPENAI_MODEL", "scripted")])
    }

    pub fn start(command: &str) -> ResponsesModel {
        let command = command.to_string();
        let (base, seen) = serve(
            move |_, body| {
                let answered =
                    body["input"].as_array().is_some_and(|i| i.iter().any(|x| x["type"] == "function_call_output"));
                let item = if answered {
                    json!({ "type": "message", "id": "msg_scripted", "role": "assistant", "status": "completed",
                            "content": [{ "type": "output_text", "text": "Done: the change is made.", "annotations": [] }] })
                } else {
                    json!({ "type": "function_call", "id": "fc_scripted", "call_id": "call_scripted", "status": "completed",
                            "name": "exec_command", "arguments": json!({ "cmd": command }).to_string() })
                };
                let usage = json!({ "input_tokens": 1, "input_tokens_details": { "cached_tokens": 0 }, "output_tokens": 1,
                                    "output_tokens_details": { "reasoning_tokens": 0 }, "total_tokens": 2 });
                let response = |status: &str, output: Value| {
                    json!({ "id": "resp_scripted", "object": "response", "created_at": 0, "status": status,
                            "model": "scripted", "output": output, "usage": usage })
                };
                sse(&[
                    (
                        "response.created",
                        json!({ "type": "response.created", "response": response("in_progress", json!([])) }),
                    ),
                    (
                        "response.output_item.added",
                        json!({ "type": "response.output_item.added", "output_index": 0, "item": item }),
                    ),
                    (
                        "response.output_item.done",
                        json!({ "type": "response.output_item.done", "output_index": 0, "item": item }),
                    ),
                    (
                        "response.completed",
                        json!({ "type": "response.completed", "response": response("completed", json!([item])) }),
                    ),
                ])
            },
            "Authorization",
        );
        ResponsesModel { base_url: format!("{base}/v1"), seen }
    }

    /// The prompt as the model got it: the user's input text.
    pub fn first_prompt(&self) -> String {
        let body = self.seen.bodies().into_iter().find(|b| b["input"].is_array()).expect("a responses request");
        body["input"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["role"] == "user")
            .flat_map(|i| i["content"].as_array().cloned().unwrap_or_default())
            .filter_map(|c| c["text"].as_str().map(str::to_string))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
