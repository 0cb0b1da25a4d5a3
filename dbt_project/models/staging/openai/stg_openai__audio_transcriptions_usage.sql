-- OpenAI audio transcriptions usage per bucket and group (project, user, API key, model).
{{ openai_simple_usage('audio_transcriptions', 'seconds') }}
