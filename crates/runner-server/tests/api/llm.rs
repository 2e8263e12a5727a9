//! LLM integrations: sealed API keys and headers, model and phase checks, access.

use gitpod_api::gitpod::v1::*;
use runner_core::crypto;

use crate::runners::create;
use runner_testkit::{Protocol, TestServer, rcs};

#[tokio::test]
async fn llm_integrations_over_connect_and_grpc() {
    for protocol in [Protocol::ConnectJson, Protocol::Grpc] {
        let server = TestServer::start().await;
        let c = server.client(protocol).await;
        let req = CreateRunnerRequest {
            name: "llm runner".into(),
            provider: RunnerProvider::Gcp as i32,
            ..Default::default()
        };
        let runner = create(&c, req).await.unwrap().runner.unwrap().runner_id;
        let new = |models: Vec<SupportedModel>| CreateLlmIntegrationRequest {
            runner_id: runner.clone(),
            models: models.into_iter().map(|m| m as i32).collect(),
            endpoint: "https://api.anthropic.com".into(),
            api_key: "sk-ant-secret-key".into(),
            max_tokens: 4096,
        };
        let call = |req: CreateLlmIntegrationRequest| {
            let c = &c;
            async move { c.call::<_, CreateLlmIntegrationResponse>(&rcs("CreateLLMIntegration"), req).await }
        };
        let f = call(new(vec![SupportedModel::Sonnet4])).await.unwrap_err();
        assert_eq!((f.code.as_str(), f.message.as_str()), ("failed_precondition", "runner does not have a public key"));
        let (secret_key, public_key) = crypto::generate_runner_keypair();
        server.set_public_key(&runner, &public_key).await;
        assert_eq!(call(new(vec![])).await.unwrap_err().bad_fields, vec!["models"]);
        assert_eq!(
            call(new(vec![SupportedModel::Sonnet4, SupportedModel::Openai4o])).await.unwrap_err().bad_fields,
            vec!["models"]
        );
        if protocol != Protocol::ConnectJson {
            // (pbjson cannot write an unknown enum number; the binary encodings can.)
            let mut unknown = new(vec![SupportedModel::Sonnet4]);
            unknown.models = vec![999];
            assert_eq!(call(unknown).await.unwrap_err().bad_fields, vec!["models[0]"]);
        }
        let id = call(new(vec![SupportedModel::Sonnet4, SupportedModel::Opus4])).await.unwrap().id;

        let get = |id: String| {
            let c = &c;
            async move {
                c.call::<_, GetLlmIntegrationResponse>(&rcs("GetLLMIntegration"), GetLlmIntegrationRequest { id })
                    .await
                    .map(|r| r.integration.unwrap())
            }
        };
        let got = get(id.clone()).await.unwrap();
        assert_eq!(got.provider, LlmProvider::Anthropic as i32);
        assert_eq!(got.phase, LlmIntegrationPhase::Available as i32);
        assert_eq!(crypto::open_sealed(&secret_key, &got.encrypted_api_key).unwrap(), b"sk-ant-secret-key");

        let upd = UpdateLlmIntegrationRequest {
            id: id.clone(),
            phase: Some(LlmIntegrationPhase::Disabled as i32),
            request_headers: vec![LlmIntegrationRequestHeader {
                key: "x-team".into(),
                value: b"platform".to_vec(),
                header_type: 0,
            }],
            ..Default::default()
        };
        let _: UpdateLlmIntegrationResponse = c.call(&rcs("UpdateLLMIntegration"), upd).await.unwrap();
        let got = get(id.clone()).await.unwrap();
        assert_eq!(got.phase, LlmIntegrationPhase::Disabled as i32);
        assert_eq!(got.models.len(), 2, "empty models keep the models");
        let header = &got.request_headers[0];
        assert_eq!(
            (header.key.as_str(), header.header_type),
            ("x-team", LlmIntegrationRequestHeaderType::Literal as i32)
        );
        assert_eq!(crypto::open_sealed(&secret_key, &header.value).unwrap(), b"platform");
        if protocol != Protocol::ConnectJson {
            let bad = UpdateLlmIntegrationRequest { id: id.clone(), phase: Some(7), ..Default::default() };
            let f = c.call::<_, UpdateLlmIntegrationResponse>(&rcs("UpdateLLMIntegration"), bad).await.unwrap_err();
            assert_eq!(f.bad_fields, vec!["phase"]);
        }

        let list: ListLlmIntegrationsResponse = c
            .call(&rcs("ListLLMIntegrations"), ListLlmIntegrationsRequest { pagination: None, filter: None })
            .await
            .unwrap();
        assert_eq!(list.integrations.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), vec![id.clone()]);
        let _: DeleteLlmIntegrationResponse = c
            .call(&rcs("DeleteLLMIntegration"), DeleteLlmIntegrationRequest { id: id.clone(), force: false })
            .await
            .unwrap();
        assert_eq!(get(id).await.unwrap_err().code, "not_found");
    }
}
