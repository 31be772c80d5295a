// Package webcrm is the WebCRM sandbox: a local emulator of the WebCRM REST
// API (https://api.webcrm.com/), faithful enough that a connector written
// against it works against the service. `concord sandbox webcrm` serves it;
// tests start it in-process with New and reach it over HTTP through Handler.
//
// It owns the emulation only: it must not import the engine, the store or
// any connector, and a connector must reach it over HTTP only, never
// through its Go API (which is for tests and demos: seeding, inspecting,
// editing as a user would, switching faults).
//
// # What is emulated
//
// Authentication. POST /Auth/ApiLogin takes the API token (a GUID, see
// APIToken) as field authCode of a url-encoded or multipart form, or as
// header authCode. POST /Auth/ApiRefresh takes refreshToken the same ways.
// Both answer {AccessToken, RefreshToken, ExpiresIn, TokenType, IsError,
// Error, ErrorDescription}. Access tokens are valid one hour
// (TokenLifetime) on the sandbox clock (Options.Now); every other call needs
// "Authorization: Bearer <AccessToken>" and gets 401 without a valid one.
//
// Entities. Organisations, Persons, Users, Opportunities, QuotationLines and
// Products, as flat PascalCase JSON objects whose fields all carry the
// entity's prefix, with int32 ids and the service's field names and types
// (texts, int32, doubles, booleans, date-times, enumerations). Each has
// *CreatedAt/*CreatedBy/*UpdatedAt/*UpdatedBy, kept by the sandbox on every
// change; fields the service maintains are ignored in request bodies, and so
// are unknown fields. Custom field families, all texts:
//
//	Organisations   OrganisationExtraCustom1..8, OrganisationCustom1..15, OrganisationPlus1..20
//	Persons         PersonCustom1..15, PersonPlus1..20
//	Opportunities   OpportunityCustom1..15, OpportunityPlus1..20
//	Products        ProductCustom1..15, ProductPlus1..20
//	Users           UserCustom1..15
//	QuotationLines  QuotationLineData1..9 (per-installation product data)
//
// plus a *Memo text on each. GET /FieldsMetadata/{entityTypes} describes
// them (see Decisions).
//
// Calls. GET /{Entity}?Page=&Size= answers a bare JSON array ordered by id
// (Page 1..1,000,000, Size 1..1000, else 400; no paging headers; unknown
// parameters ignored). GET /{Entity}/{id}; POST /{Entity} with <Entity>Id 0
// or absent answers the new id as a bare JSON number; PUT /{Entity}/{id}
// with the full object answers 200 without body; PATCH /{Entity} with an
// array upserts (id 0 inserts) and answers an array of texts, one per item;
// DELETE /{Products|QuotationLines}/{id}; GET /Opportunities/{id}/QuotationLines;
// GET /Users/AllActive; GET /Queries?script=…&Page=&Size=; hooks at
// /{Entity}/Hooks (GET, POST) and /{Entity}/Hooks/{id} (GET, PUT, DELETE).
// Errors are {"Message": …, "Type": …} with 400, 401, 404, 405, 429 or 5xx.
// Paths, query parameter names and body field names match without regard
// to case, as on the service.
//
// "Send the full object": PUT (and every update item of PATCH) replaces the
// record. A field the body leaves out is cleared (texts to "", numbers to 0,
// booleans to false, date-times to 0001-01-01T00:00:00, enumerations to
// their first value). Clients read the record, change it and write it all
// back.
//
// Validation. A person needs a non-blank PersonLastName and a
// PersonOrganisationId naming an existing organisation. PersonOrganisationId
// cannot be changed through the API. A quotation line needs an existing
// QuotationLineOpportunityId; QuotationLineData1..9 may be left out (they
// are then left out of the JSON too) but an empty text is a 400.
// OrganisationName holds at most 200 characters. An opportunity's
// OpportunityOrganisationId and OpportunityPersonId must name existing
// records when not 0. Values must have the field's JSON type (see
// Decisions).
//
// Queries. The SQL subset of GET /Queries (its grammar opens query.go):
// SELECT * or columns, FROM one of the singular tables Organisation, Person,
// User, Opportunity, QuotationLine, Product, [INNER|LEFT] JOIN … ON (…),
// WHERE with = and >=, AND, OR and parentheses, single-quoted texts (a
// quote inside one is doubled), numbers, ORDER BY … ASC|DESC. It answers a
// bare JSON array of objects with the selected columns, paged like the
// listings. Date-time
// literals are read in the sandbox's time zone, so
// "OrganisationUpdatedAt >= '2018-10-05T12:00:00'" compares with the
// stored timestamps as the service compares with its own.
//
// Time. Timestamps have second resolution (several changes within one
// second share a timestamp, as connectors must expect) and are written
// without offset, as wall-clock times in a configurable zone
// (Options.Location, SetLocation; default Europe/Copenhagen). Date-times
// sent without offset are read in that zone; with an offset they are
// converted.
//
// Rate limit. Options.RateLimit requests a minute per API token on a
// sliding window (the service allows DefaultRateLimit = 250; 0 switches the
// limit off). Beyond it: 429, header Retry-After in seconds and body
// {"RetryAfterSeconds": n, "Message": …, "Type": "TooManyRequestsException"}.
// Only authenticated calls count; refused calls do not.
//
// Hooks. A hook has TargetUrl, IsEnabled, EventType (Create, Update,
// Delete) and Filter. After each change the sandbox POSTs HookPayload
// {"EventType", "EntityType", "Id"} to every enabled hook of that entity and
// event type, on a goroutine of its own, in the order of the changes; the
// API call never waits for it (WaitForHooks does, for tests). One attempt,
// ten seconds' timeout, failures logged.
//
// Faults (Options.Faults, SetFaults): latency before every answer; a
// fraction of calls answered 500 or 503; a fraction of connections closed
// without answer; creates failing with 500 when they follow the previous
// create within a window. With Options.Seed the same calls fail on every run.
//
// Persistence. Open keeps the data in a JSON file: loaded at start, written
// atomically (temporary file, rename) when changed, at most every
// Options.SaveInterval, and on Close. New keeps it in memory.
//
// # Decisions where the service's documentation is silent
//
//   - PersonOrganisationId: an API write that changes it fails with 400
//     (naming the field), also in PATCH items; with
//     Options.IgnorePersonOrganisationChange the old value is kept silently
//     instead. A PUT that leaves it out changes it to 0, so it fails too.
//     The web interface can move persons: Edit and Put may change it.
//   - Missing records: 404 {Message, Type: "NotFoundException"}. Other
//     errors: 400 "BadRequestException", 401 "UnauthorizedException", 405
//     "MethodNotAllowedException", 500 "InternalServerErrorException", 503
//     "ServiceUnavailableException". Only the 429 body is documented.
//   - DELETE on Organisations, Persons, Opportunities and Users: 405 with an
//     Allow header and a {Message, Type} body. A successful DELETE answers
//     204 (clients should take any 2xx).
//   - PATCH: each item is a full object like a PUT body. Its answer text is
//     the record's id for inserts and updates alike, or the error message;
//     items fail alone, the answer is 200. The items are written in one step
//     (no other call sees half of them).
//   - POST with a non-zero <Entity>Id: 400 pointing to PUT. A PUT whose body
//     id differs from the path id: 400.
//   - Login with a wrong or missing authCode, refresh with an unknown
//     refreshToken: 400 with IsError true and Error "invalid_grant" or
//     "invalid_request". A refresh issues a new access token and keeps the
//     refresh token valid. Tokens live in memory: after a restart clients
//     log in again.
//   - The rate limit counts per API token (auth code), not per access
//     token: logging in again does not reset the window, so a client that
//     passes here cannot rely on a loophole there. Login and refresh are
//     not limited.
//   - Default page size: DefaultPageSize (50) when Size is absent.
//   - Type strictness: a text field takes only JSON strings, a number field
//     only numbers (an int32 field only whole numbers in range), a boolean
//     only true/false, an enumeration only its values (any case), a
//     date-time only a text. The service's model binding may coerce more;
//     the sandbox refuses, so that a client that passes here sends the
//     documented types. null clears a field.
//   - An unset date-time is written 0001-01-01T00:00:00, never null.
//   - PersonName is stored as sent; when blank it is derived from the
//     first, middle and last names. PersonStatus defaults to Active,
//     OpportunityErpStatus to NotReadyForSynchronization (their first
//     values). OpportunityNumber defaults to the id as text on create.
//     QuotationLineOrganisationId defaults to the opportunity's
//     organisation.
//   - Every write stamps *UpdatedAt, also one that changes nothing, and
//     fires the Update hooks.
//   - Queries: the operators are = and >= only; >, <, <=, <>, !=, NOT, IN,
//     LIKE, IS NULL, functions, aliases, TOP, GROUP BY, comments and several
//     statements are refused with a 400 naming the position and what is not
//     supported, so that a client does not come to rely on more than the
//     documented subset. Texts compare without regard to case and trailing
//     spaces (SQL Server's default collation); a text literal compared with
//     a number column must hold a number; a boolean column compares with 1,
//     0, 'true', 'false'. Without ORDER BY rows come by id. NULL (the
//     missing side of a LEFT JOIN, an unset QuotationLineData field) never
//     compares true, sorts first ascending and is written as null.
//   - FieldsMetadata: an array of {EntityType, FieldName, Label, Type,
//     IsInUse}, one per custom field of the requested types (singular or
//     plural names, comma-separated); Type is "Text"; labelled fields are in
//     use (Options.FieldLabels, SetFieldLabels; DefaultFieldLabels names
//     product code and name fields).
//   - Hooks: the payload is HookPayload (assumed; the service does not
//     document it). POST answers the hook's id as a bare number, PUT 200
//     without body, DELETE 204. An absent or empty Filter means All. The
//     sandbox has no owners, so the owner filters (Owner, OrganisationOwner,
//     Responsible, Current, …) are accepted but hear every change. The web
//     interface's changes (Put, Edit, Remove) fire the hooks too.
//   - Removing an organisation in the web interface (Remove) removes its
//     persons and opportunities, and an opportunity its quotation lines;
//     each removal fires the Delete hooks.
//   - Users are active unless SetUserActive deactivates them (the activity
//     flag is not a field of the JSON).
//   - Time zone: the service's is unknown; the sandbox's default is
//     Europe/Copenhagen and can be changed at run time. Instants are stored;
//     a change of zone changes their text, not the instants.
//   - Transient create failures (Faults.CreateFailureRate): a create that
//     comes within CreateFailureWindow (default 200 ms, sandbox clock) of the
//     previous create attempt fails with that probability; nothing is
//     created; PATCH inserts fail per item with the message.
//   - Injected 5xx and dropped connections happen before anything is done,
//     so a retry of any call is safe against the sandbox.
//   - Older behaviour (Options.EmptyPostBody, SetEmptyPostBody): POST
//     /Organisations and POST /Users answer 200 with an empty body.
//
// # What is not emulated
//
// Other entities (activities, deliveries, documents, meetings, relations,
// support cases, …), /QuotationLines/LinkedData and the linked-data
// catalogue, the "include" parameter, XML bodies, per-user permissions,
// owners and territories (and so hook filters other than All), several API
// tokens, hook retries, OpportunityLevelText derived from the level, the
// service's field length limits other than OrganisationName's, and any
// change-history field (*History). Rarely used fields of the service's
// model are left out; being unknown, they are ignored when sent.
package webcrm
