package job

// Summary is the machine-readable account of a finished job (--json).
type Summary struct {
	JobID          string           `json:"job_id"`
	Executor       string           `json:"executor"`
	Input          string           `json:"input"`
	Output         string           `json:"output"`
	VideoCodec     string           `json:"video_codec"`
	AudioCodec     string           `json:"audio_codec,omitempty"`
	Segments       int              `json:"segments"`
	SegmentSeconds float64          `json:"segment_duration"` // the target length used
	SourceFrames   int              `json:"source_frames"`
	ExpectedFrames int              `json:"expected_frames"` // source frames, as changed by -r
	FrameRate      string           `json:"frame_rate,omitempty"`
	OutputFrames   int              `json:"output_frames"`
	SourceDuration float64          `json:"source_duration"`
	OutputDuration float64          `json:"output_duration"`
	Audio          []AudioCheck     `json:"audio,omitempty"`
	WallSeconds    float64          `json:"wall_seconds"`
	Phases         Phases           `json:"phases"`
	SegmentTimings []SegmentSummary `json:"segment_timings"`
	AudioTask      *TaskSummary     `json:"audio_task,omitempty"`
	MergeTask      *TaskSummary     `json:"merge_task,omitempty"`
	TempDir        string           `json:"temp_dir,omitempty"`
	// Placement says, per node, what the plan gave it and why (swarm).
	Placement []NodePlacement `json:"placement,omitempty"`
	// Bitrate is the account of a -b:v target, nil without one.
	Bitrate *BitrateSummary `json:"bitrate,omitempty"`
}

// BitrateSummary is how a bitrate target was met over the whole file.
type BitrateSummary struct {
	// Method is "two-pass" (the encoder's own passes), "analysed"
	// (complexity from a probe, one pass at each segment's share) or
	// "one-pass" (--one-pass: every segment at the target).
	Method string  `json:"method"`
	Target float64 `json:"target"` // bits per second
	Video  float64 `json:"video"`  // bits per second of the video stream made
}

// SegmentSummary is one segment's account.
type SegmentSummary struct {
	Index        int     `json:"index"`
	Frames       int     `json:"frames"`
	StartSeconds float64 `json:"start_seconds"`
	Seconds      float64 `json:"seconds"`
	Began        float64 `json:"began"` // seconds after the job's start, of its last attempt
	FPS          float64 `json:"fps"`
	Node         string  `json:"node"`
	Attempts     int     `json:"attempts"`
	// With a bitrate target: what the segment was asked for and made, in
	// bits per second.
	AskedBitrate float64 `json:"asked_bitrate,omitempty"`
	Bitrate      float64 `json:"bitrate,omitempty"`
}

// Phases is where a job's wall time went, in seconds: what ran before the
// first task (probe, plan, preflight), the segments and the audio, the
// merge, and the verification of the output.
type Phases struct {
	Prepare float64 `json:"prepare"`
	Encode  float64 `json:"encode"`
	Merge   float64 `json:"merge"`
	Verify  float64 `json:"verify"`
}

// TaskSummary is where a single task ran and for how long.
type TaskSummary struct {
	Node     string  `json:"node"`
	Seconds  float64 `json:"seconds"`
	Began    float64 `json:"began"` // seconds after the job's start
	Attempts int     `json:"attempts"`
}

// AudioCheck compares one audio stream of the output with the source's.
type AudioCheck struct {
	SourceDuration float64 `json:"source_duration"`
	OutputDuration float64 `json:"output_duration"`
	// Offsets are the audio's start relative to the first video frame.
	SourceOffset float64 `json:"source_offset"`
	OutputOffset float64 `json:"output_offset"`
}
