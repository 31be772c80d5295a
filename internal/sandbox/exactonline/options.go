package exactonline

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults of the command line; in Options every limit is 0 (off) unless set.
const (
	DefaultMinutelyLimit   = 60
	DefaultDailyLimit      = 5000
	DefaultTokenDailyLimit = 200
	DefaultErrorLimit      = 10
	DefaultDivision        = 3141592
)

// Options shape a Server. The zero value gives a server in memory with no
// limits, no faults and Dutch time.
type Options struct {
	// Now is the server's clock (token lifetimes, rate windows, Created and
	// Modified); default time.Now. Tests inject a clock they advance.
	Now func() time.Time
	// Location is the zone Exact's dates live in; default Europe/Amsterdam.
	Location *time.Location

	// Division is the one division (administration) the sandbox holds;
	// default DefaultDivision, or the one in DataFile.
	Division int
	// ClientID, ClientSecret and WebhookSecret are the registered app's.
	// When empty and not in DataFile they are made up: the client id (a
	// guid) from Seed, the secrets at random.
	ClientID, ClientSecret, WebhookSecret string

	// MinutelyLimit and DailyLimit are the API call budgets per app and
	// division; 0 means unlimited. The command line defaults to 60 and
	// 5,000 as Exact does.
	MinutelyLimit, DailyLimit int
	// TokenDailyLimit is the number of token endpoint calls an app may make
	// a day; 0 means unlimited (Exact: about 200).
	TokenDailyLimit int
	// ErrorLimit is the number of error responses (400, 401, 403, 404) one
	// app may get from one endpoint of a division within an hour; one more
	// blocks that endpoint for the app for an hour. 0 turns the block off
	// (Exact: 10).
	ErrorLimit int

	// Faults make the API misbehave; see Faults. SetFaults changes them.
	Faults Faults
	// Seed makes ids, made-up secrets and fault decisions repeatable;
	// 0 draws a random seed.
	Seed int64

	// TimestampAsString writes sync Timestamps as JSON strings ("123")
	// instead of numbers, as some Exact responses do.
	TimestampAsString bool
	// DateOffsetSuffix writes dates as "/Date(utc-ms+hhmm)/" instead of
	// "/Date(local-ms)/".
	DateOffsetSuffix bool
	// KeyedReadShape is how a GET of one record by key is wrapped:
	// "object" (default, {"d":{…}}), "results" ({"d":{"results":[{…}]}})
	// or "array" ({"d":[{…}]}). Exact has been seen answering all three.
	KeyedReadShape string
	// NoMandatoryFilter lets crm/Accounts and logistics/Items be listed
	// without a $filter.
	NoMandatoryFilter bool

	// BaseURL is the scheme and host clients reach the sandbox at, used in
	// __next, __metadata and webhook payloads; without it each request's
	// own Host is used. SetBaseURL changes it.
	BaseURL string

	// DataFile is where the data persists (JSON); empty keeps it in memory.
	DataFile string
	// SaveInterval is how often changed data is written to DataFile;
	// default one second. Close always writes.
	SaveInterval time.Duration

	// WebhookClient sends webhook notifications; default a client with a
	// 10 s timeout.
	WebhookClient *http.Client
	// Logger receives the server's logs; default slog.Default().
	Logger *slog.Logger
}

// Faults make the API misbehave the way a real service does. Rates are
// probabilities per API call (0 to 1), drawn from a source seeded by
// Options.Seed, so that a sequence of calls gets the same faults every run.
// Faults apply to /api/v1 only, never to the OAuth endpoints.
type Faults struct {
	// Latency delays every API call.
	Latency time.Duration
	// ErrorRate answers a call with a 5xx (500, 502, 503 or 504) before it
	// does anything.
	ErrorRate float64
	// DropRate closes the connection without an answer. A GET is dropped
	// before it runs; a POST, PUT or DELETE is dropped after its change is
	// made, as when a response is lost on the way back.
	DropRate float64
	// EmptyPageRate answers a list call with no rows but a __next that
	// repeats the request.
	EmptyPageRate float64
}

// Credentials are what a connector needs to talk to the sandbox without a
// browser: the app, a fresh refresh token (with no access token issued for
// it yet, so the first refresh is never too early), the division and where
// the endpoints are.
type Credentials struct {
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	RedirectURI   string `json:"redirect_uri"`
	RefreshToken  string `json:"refresh_token"`
	Division      int    `json:"division"`
	WebhookSecret string `json:"webhook_secret"`
	BaseURL       string `json:"base_url"`
	AuthURL       string `json:"auth_url"`
	TokenURL      string `json:"token_url"`
	APIURL        string `json:"api_url"`
}

// WebhookDelivery is one notification the sandbox sent (or tried to).
type WebhookDelivery struct {
	CallbackURL string
	Topic       string
	Action      string
	Key         string
	Body        []byte
	StatusCode  int    // 0 when no response came
	Err         string // why it failed, if it did
	At          time.Time
}
