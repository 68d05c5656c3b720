def test_front_page_lists_articles(client, article):
    response = client.get("/")
    assert response.status_code == 200
    assert article.title in response.content.decode()
