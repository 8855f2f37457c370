package archive

import (
	"testing"
	"time"
)

func TestParseInfo(t *testing.T) {
	doc := `{"id":"01ABC","startTime":"2018-02-12T19:01:07.000+0000","stopTime":1518462127500,
	 "callType":"Inbound","callerPhoneNumber":"+33175757575","dialedPhoneNumber":"5000","tenant":"Environment",
	 "mediaFiles":[{"mediaId":"m1","type":"audio/mp3","size":"1234"},{"mediaId":"m2","type":"video/mp4"}],
	 "eventHistory":[{"occurredAt":"2018-02-12T19:01:08Z","event":"joined","agentId":"agent7"},
	   {"occurredAt":"2018-02-12T19:01:09Z","event":"joined","agentId":"agent2"},
	   {"occurredAt":"2018-02-12T19:01:10Z","event":"left","agentId":"agent7"}],
	 "x-unknown":{"kept":true}}`
	info, err := ParseInfo([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2018, 2, 12, 19, 1, 7, 0, time.UTC)
	if info.ID != "01ABC" || !info.Start.Equal(want) || info.Duration() != 60500*time.Millisecond {
		t.Errorf("id/start/duration: %+v %v", info, info.Duration())
	}
	if info.Direction != "Inbound" || info.ANI != "+33175757575" || info.DNIS != "5000" || info.Tenant != "Environment" {
		t.Errorf("call fields: %+v", info)
	}
	if len(info.Agents) != 2 || info.Agents[0] != "agent2" || info.Agents[1] != "agent7" {
		t.Errorf("agents = %v, want [agent2 agent7]", info.Agents)
	}
	if len(info.Media) != 2 || info.Media[0].Size != 1234 || info.Media[1].Size != -1 || info.Media[1].File != "m2.bin" {
		t.Errorf("media = %+v", info.Media)
	}
	if len(info.Events) != 3 || info.Events[2].Name != "left" {
		t.Errorf("events = %+v", info.Events)
	}
}

func TestParseInfoRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":  `{"id":`,
		"no id":     `{"startTime":"2018-02-12T19:01:07Z"}`,
		"no start":  `{"id":"X"}`,
		"bad start": `{"id":"X","startTime":"yesterday"}`,
		"array":     `[1,2]`,
		"empty id":  `{"id":"","startTime":"2018-02-12T19:01:07Z"}`,
	} {
		if _, err := ParseInfo([]byte(doc)); err == nil {
			t.Errorf("%s: ParseInfo accepted %s", name, doc)
		}
	}
}
