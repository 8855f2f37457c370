package backup

import (
	"errors"
	"fmt"

	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/metadata"
)

// MissingCredentialsError is a credential that the environment does not
// set and a service requires (spec §9): a configuration error, exit 2.
// Its one line names the variables, e.g.
// config: GWS_USERNAME/GWS_PASSWORD: not set, and the recordings API requires them.
type MissingCredentialsError struct {
	Vars    string // the environment variables, e.g. "GWS_USERNAME/GWS_PASSWORD"
	Service string // who requires them, e.g. "the recordings API"
	Detail  string // what else was tried, or ""
	Err     error  // the service's refusal, for errors.As
}

func (e *MissingCredentialsError) Error() string {
	s := fmt.Sprintf("config: %s: not set, and %s requires them", e.Vars, e.Service)
	if e.Detail != "" {
		s += "; " + e.Detail
	}
	return s
}

func (e *MissingCredentialsError) Unwrap() error { return e.Err }

// explainCredentials turns the API's refusal of a run that sent no
// credentials (GWS_USERNAME unset) into the missing variables: "refused
// the credentials of " with a blank name would send the admin looking for
// a wrong password.
func explainCredentials(cfg *config.Config, err error) error {
	var ae *metadata.AuthError
	if err == nil || cfg.GWSUsername != "" || !errors.As(err, &ae) {
		return err
	}
	return &MissingCredentialsError{Vars: "GWS_USERNAME/GWS_PASSWORD", Service: "the recordings API", Err: err}
}
