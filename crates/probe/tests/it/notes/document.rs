//! The OpenAPI document of the in-process notes service.

use serde_json::{Value, json};

/// The document: auth operations, an owned `notes` collection with a search and a page size,
/// and an admin-only user list.
pub fn document() -> Value {
    let secured = json!([{"bearerAuth": []}]);
    let note = json!({"$ref": "#/components/schemas/Note"});
    let ok = |schema: Value| json!({"description": "ok", "content": {"application/json": {"schema": schema}}});
    let error = json!({"description": "error"});
    let body = |schema: Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "notes", "version": "1"},
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {
                "Credentials": {
                    "type": "object",
                    "required": ["email", "password"],
                    "properties": {
                        "email": {"type": "string", "format": "email"},
                        "password": {"type": "string", "minLength": 8}
                    }
                },
                "Tokens": {
                    "type": "object",
                    "required": ["access_token", "refresh_token"],
                    "properties": {"access_token": {"type": "string"}, "refresh_token": {"type": "string"}}
                },
                "User": {
                    "type": "object",
                    "required": ["id", "email", "role"],
                    "properties": {
                        "id": {"type": "string"},
                        "email": {"type": "string"},
                        "role": {"type": "string", "enum": ["admin", "member"]}
                    }
                },
                "NoteInput": {
                    "type": "object",
                    "required": ["title"],
                    "properties": {
                        "title": {"type": "string", "minLength": 1, "maxLength": 100},
                        "body": {"type": "string", "maxLength": 1000}
                    }
                },
                "Note": {
                    "type": "object",
                    "required": ["id", "owner_id", "title", "created_at"],
                    "properties": {
                        "id": {"type": "integer", "readOnly": true},
                        "owner_id": {"type": "string", "readOnly": true},
                        "title": {"type": "string"},
                        "body": {"type": "string"},
                        "created_at": {"type": "string", "format": "date-time", "readOnly": true}
                    }
                },
                "NoteList": {
                    "type": "object",
                    "required": ["items", "limit"],
                    "properties": {"items": {"type": "array", "items": note.clone()}, "limit": {"type": "integer"}}
                }
            }
        },
        "paths": {
            "/api/v1/auth/register": {"post": {
                "operationId": "register",
                "requestBody": body(json!({"$ref": "#/components/schemas/Credentials"})),
                "responses": {"201": ok(json!({"$ref": "#/components/schemas/User"})), "409": error, "422": error}
            }},
            "/api/v1/auth/login": {"post": {
                "operationId": "login",
                "requestBody": body(json!({"$ref": "#/components/schemas/Credentials"})),
                "responses": {"200": ok(json!({"$ref": "#/components/schemas/Tokens"})), "401": error}
            }},
            "/api/v1/auth/refresh": {"post": {
                "operationId": "refresh",
                "requestBody": body(json!({"type": "object", "required": ["refresh_token"], "properties": {"refresh_token": {"type": "string"}}})),
                "responses": {"200": ok(json!({"$ref": "#/components/schemas/Tokens"})), "401": error}
            }},
            "/api/v1/auth/logout": {"post": {
                "operationId": "logout", "security": secured,
                "responses": {"204": {"description": "logged out"}, "401": error}
            }},
            "/api/v1/auth/me": {"get": {
                "operationId": "me", "security": secured,
                "responses": {"200": ok(json!({"$ref": "#/components/schemas/User"})), "401": error}
            }},
            "/api/v1/notes": {
                "get": {
                    "operationId": "list_notes", "security": secured,
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}}
                    ],
                    "responses": {"200": ok(json!({"$ref": "#/components/schemas/NoteList"})), "401": error}
                },
                "post": {
                    "operationId": "create_note", "security": secured,
                    "requestBody": body(json!({"$ref": "#/components/schemas/NoteInput"})),
                    "responses": {"201": ok(note.clone()), "401": error, "413": error, "422": error}
                }
            },
            "/api/v1/notes/{id}": {
                "get": {
                    "operationId": "get_note", "security": secured,
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                    "responses": {"200": ok(note.clone()), "401": error, "404": error}
                },
                "patch": {
                    "operationId": "update_note", "security": secured,
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                    "requestBody": body(json!({"$ref": "#/components/schemas/NoteInput"})),
                    "responses": {"200": ok(note.clone()), "401": error, "404": error, "422": error}
                },
                "delete": {
                    "operationId": "delete_note", "security": secured,
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                    "responses": {"204": {"description": "deleted"}, "401": error, "404": error}
                }
            },
            "/api/v1/admin/users": {"get": {
                "operationId": "admin_list_users", "security": secured, "tags": ["admin"],
                "responses": {"200": ok(json!({"type": "array", "items": {"$ref": "#/components/schemas/User"}})), "401": error, "403": error}
            }},
            "/api/v1/tags": {"get": {
                "operationId": "list_tags",
                "responses": {"200": ok(json!({"type": "array", "items": {"type": "string"}}))}
            }},
            "/health": {"get": {"operationId": "health", "responses": {"200": {"description": "ok"}}}}
        }
    })
}
